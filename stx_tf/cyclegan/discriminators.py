"""The 70×70 PatchGAN discriminator of pix2pix and CycleGAN.

Isola et al. 2017 (https://arxiv.org/abs/1611.07004) / Zhu et al. 2017 (https://arxiv.org/abs/1703.10593):
``C64 - C128 - C256 - C512`` (4×4 convolutions, LeakyReLU 0.2, no norm on the first), then a 4×4
convolution to one channel. Each output value judges one 70×70 patch of the input; a 256×256 image
gives a 30×30 map of raw scores (no sigmoid: the losses take logits / LSGAN scores).
"""

from __future__ import annotations

import keras
from keras import layers

from stx_tf.cyclegan.config import check_norm
from stx_tf.cyclegan.layers import init, normalize


def patchgan_discriminator(
    filters: int = 64,
    n_layers: int = 3,
    norm: str = "instance",
    image_size: int | None = None,
    name: str = "patchgan_discriminator",
) -> keras.Model:
    """The PatchGAN discriminator.

    Args:
        filters: width of the first layer (64); then ×2 per layer up to ×8.
        n_layers: stride-2 layers (3 gives the 70×70 receptive field).
        norm: ``"instance"``, ``"batch"`` or ``"none"``.
        image_size: fix the input side (``None``: any side >= 32).
        name: model name.

    Returns:
        ``keras.Model``: ``(B, H, W, 3) -> (B, H/8 - 2, W/8 - 2, 1)``, i.e. ``(B, 30, 30, 1)`` at 256 px.
    """
    check_norm(norm)
    inputs = keras.Input((image_size, image_size, 3), name="image")  # (B, 256, 256, 3)
    x = inputs
    for i in range(n_layers):  # (B, 128, 128, f), (B, 64, 64, 2f), (B, 32, 32, 4f)
        width = filters * min(2**i, 8)
        x = layers.Conv2D(
            width,
            4,
            strides=2,
            padding="same",
            use_bias=i == 0 or norm == "none",
            kernel_initializer=init(),
            name=f"down{i + 1}",
        )(x)
        if i > 0:
            x = normalize(x, norm, name=f"down{i + 1}_norm")
        x = layers.LeakyReLU(0.2)(x)
    x = layers.ZeroPadding2D(1)(x)  # (B, 34, 34, 4f)
    x = layers.Conv2D(
        filters * min(2**n_layers, 8), 4, use_bias=norm == "none", kernel_initializer=init(), name="conv"
    )(x)  # (B, 31, 31, 8f)
    x = layers.LeakyReLU(0.2)(normalize(x, norm, name="conv_norm"))
    x = layers.ZeroPadding2D(1)(x)  # (B, 33, 33, 8f)
    x = layers.Conv2D(1, 4, kernel_initializer=init(), name="patch_scores")(x)  # (B, 30, 30, 1)
    outputs = layers.Activation("linear", dtype="float32", name="scores")(x)
    return keras.Model(inputs, outputs, name=name)
