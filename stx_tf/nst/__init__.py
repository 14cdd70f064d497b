"""Gatys neural style transfer: optimise the pixels of one image so that its deep features match a
photo's content and a painting's style.

Gatys, Ecker & Bethge, "A Neural Algorithm of Artistic Style" (https://arxiv.org/abs/1508.06576); colour
preservation from Gatys et al., "Preserving Color in Neural Artistic Style Transfer"
(https://arxiv.org/abs/1606.05897); coarse-to-fine from Gatys et al., "Controlling Perceptual Factors in
Neural Style Transfer" (https://arxiv.org/abs/1611.07865).

Modules: :mod:`~stx_tf.nst.config` (settings, presets), :mod:`~stx_tf.nst.objective` (the loss and the
feature extractor), :mod:`~stx_tf.nst.optimisers` (Adam, L-BFGS), :mod:`~stx_tf.nst.procedure`
(:func:`stylize`), :mod:`~stx_tf.nst.figures` (sweeps, demo images).

Speed: each optimisation step is one compiled ``tf.function`` computing the loss the cheap way
(:meth:`StyleObjective.step_loss`), on CPUs with native bfloat16 with bfloat16 convolutions
(``precision="auto"``, :func:`~stx_tf.nst.config.step_policy`); reported losses are always the float32
loss of the (clipped) image. Measured figures (per-step time, steps and wall time to the TensorFlow
tutorial's loss, optimisers, coarse-to-fine) are in ``benchmarks/README.md``.

Example::

    from stx_tf import nst
    result = nst.stylize("photo.jpg", "starry_night.jpg", backbone="squeezenet", weights="sq.h5")
    result.save("out.png")
"""

from stx_tf.nst.config import FAST_SCHEDULE, StylizeConfig, recommended_config, step_policy
from stx_tf.nst.figures import content_weight_sweep, demo_images, epochs_sweep
from stx_tf.nst.objective import StyleObjective, extractor
from stx_tf.nst.optimisers import adam_runner, lbfgs_runner
from stx_tf.nst.procedure import Callback, FrameSaver, LossDivergedError, StopAtLoss, StylizeResult, stylize

# fmt: off
__all__ = ["FAST_SCHEDULE", "Callback", "FrameSaver", "LossDivergedError", "StopAtLoss", "StyleObjective",
           "StylizeConfig", "StylizeResult", "adam_runner", "content_weight_sweep", "demo_images", "epochs_sweep",
           "extractor", "lbfgs_runner", "recommended_config", "step_policy", "stylize"]
# fmt: on
