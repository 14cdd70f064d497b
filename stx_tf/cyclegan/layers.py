"""Building blocks shared by the CycleGAN generators and discriminator: reflection padding, the
selectable normalisation and the N(0, 0.02) initialiser."""

from __future__ import annotations

import keras
from keras import layers, ops

from stx_tf.cyclegan.config import check_norm


def init(stddev: float = 0.02) -> keras.initializers.Initializer:
    """Zhu et al. / Isola et al.: weights drawn from N(0, 0.02)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=stddev)


def norm_layer(norm: str, name: str | None = None) -> layers.Layer | None:
    """The normalisation layer for ``norm`` (scale initialised from N(1, 0.02)), or None for ``"none"``."""
    gamma = keras.initializers.RandomNormal(mean=1.0, stddev=0.02)
    if check_norm(norm) == "instance":
        return layers.GroupNormalization(groups=-1, epsilon=1e-5, gamma_initializer=gamma, name=name)
    if norm == "batch":
        return layers.BatchNormalization(epsilon=1e-5, gamma_initializer=gamma, name=name)
    return None


def normalize(x, norm: str, name: str | None = None):
    """Apply :func:`norm_layer` (identity for ``"none"``)."""
    layer = norm_layer(norm, name)
    return x if layer is None else layer(x)


@keras.saving.register_keras_serializable(package="stx_tf")
class ReflectionPadding2D(layers.Layer):
    """Pad height and width by mirroring the border (no zero frame for the next convolution).

    ``(B, H, W, C) -> (B, H + 2p, W + 2p, C)``.
    """

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, x):
        p = self.padding
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        grow = lambda n: None if n is None else n + 2 * self.padding  # noqa: E731
        return (b, grow(h), grow(w), c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}
