"""CycleGAN's learning-rate schedule: constant, then a straight line down to zero.

Zhu et al. 2017 (https://arxiv.org/abs/1703.10593, section 7.1): Adam at 2e-4 for 100 epochs, then
linearly decayed to zero over the next 100. Here in optimiser steps, so it works with any epoch length.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="stx_tf")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``initial`` for ``constant_steps`` steps, then linear decay to ``final`` over ``decay_steps``.

    Args:
        initial: the starting learning rate (2e-4).
        constant_steps: steps at ``initial``.
        decay_steps: steps of the linear decay (0: constant forever).
        final: the rate reached at the end of the decay and kept afterwards (0).
    """

    def __init__(
        self, initial: float = 2e-4, constant_steps: int = 0, decay_steps: int = 0, final: float = 0.0
    ):
        if constant_steps < 0 or decay_steps < 0:
            raise ValueError(f"steps must be >= 0, got constant={constant_steps}, decay={decay_steps}")
        self.initial = float(initial)
        self.constant_steps = int(constant_steps)
        self.decay_steps = int(decay_steps)
        self.final = float(final)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        if not self.decay_steps:
            return ops.convert_to_tensor(self.initial, "float32")
        progress = ops.clip((step - self.constant_steps) / float(self.decay_steps), 0.0, 1.0)
        return self.initial + (self.final - self.initial) * progress

    def get_config(self):
        return {
            "initial": self.initial,
            "constant_steps": self.constant_steps,
            "decay_steps": self.decay_steps,
            "final": self.final,
        }

    @classmethod
    def for_epochs(cls, initial: float, epochs: int, decay_epochs: int, steps_per_epoch: int) -> LinearDecay:
        """The paper's form in epochs: constant for ``epochs - decay_epochs``, then decay over ``decay_epochs``."""
        if not 0 <= decay_epochs <= epochs:
            raise ValueError(f"decay_epochs must be in [0, epochs={epochs}], got {decay_epochs}")
        return cls(initial, (epochs - decay_epochs) * steps_per_epoch, decay_epochs * steps_per_epoch)
