"""CycleGAN's nets: the ResNet generator of the paper, the U-Net of pix2pix / the TensorFlow tutorial, and
the 70×70 PatchGAN discriminator (:func:`stx_tf.nn.patchgan_discriminator`), built from a config.

* :func:`resnet_generator` - Johnson et al. 2016 (https://arxiv.org/abs/1603.08155) as used by Zhu et al.
  2017 (https://arxiv.org/abs/1703.10593, appendix 7.2): ``c7s1-64, d128, d256, R256 × 6|9, u128, u64,
  c7s1-3`` with reflection padding and instance norm.
* :func:`unet_generator` - Isola et al. 2017 (https://arxiv.org/abs/1611.07004), the design of the
  TensorFlow CycleGAN tutorial (``tensorflow_examples.models.pix2pix.unet_generator``): stride-2 4×4
  convolutions down to 1×1 at 256 px, mirrored transposed convolutions up with skip connections, dropout
  0.5 on the three deepest up-steps. Unlike the tutorial, the innermost (1×1) step is not normalised:
  instance norm of a single pixel outputs a constant (the pix2pix paper's erratum).

Both map ``(B, H, W, 3)`` in ``[-1, 1]`` to ``(B, H, W, 3)`` in ``[-1, 1]`` (``tanh``, float32 even under
mixed precision) and accept any ``H, W`` divisible by 4 (ResNet) or ``2**depth`` (U-Net). Widths are
configurable so tests and smoke runs can use tiny nets (``filters=8``).
"""

from __future__ import annotations

import math

import keras
from keras import layers

from stx_tf.cyclegan.config import GENERATORS, CycleGANConfig
from stx_tf.nn import ReflectionPadding2D, check_norm, init, normalize, patchgan_discriminator


def _conv(
    filters: int, kernel: int, strides: int = 1, padding: str = "valid", norm: str = "instance", name=None
):
    return layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding=padding,
        use_bias=norm == "none",
        kernel_initializer=init(),
        name=name,
    )


def _residual_block(x, filters: int, norm: str, name: str):
    """``R{filters}``: two reflection-padded 3×3 convolutions with a skip; shape unchanged."""
    y = ReflectionPadding2D(1, name=f"{name}_pad1")(x)
    y = _conv(filters, 3, norm=norm, name=f"{name}_conv1")(y)
    y = normalize(y, norm, name=f"{name}_norm1")
    y = layers.ReLU(name=f"{name}_relu")(y)
    y = ReflectionPadding2D(1, name=f"{name}_pad2")(y)
    y = _conv(filters, 3, norm=norm, name=f"{name}_conv2")(y)
    y = normalize(y, norm, name=f"{name}_norm2")
    return layers.Add(name=f"{name}_add")([x, y])


def resnet_generator(
    filters: int = 64,
    res_blocks: int = 9,
    norm: str = "instance",
    image_size: int | None = None,
    name: str = "resnet_generator",
) -> keras.Model:
    """The CycleGAN ResNet generator (9 blocks for 256 px, 6 for 128 px in the paper).

    Args:
        filters: width of the first layer (64); the net uses ``filters``, 2× and 4× that.
        res_blocks: residual blocks at the bottleneck (6 or 9).
        norm: ``"instance"`` (paper), ``"batch"`` or ``"none"``.
        image_size: fix the input side (``None``: any side divisible by 4).
        name: model name.

    Returns:
        ``keras.Model``: ``(B, H, W, 3) -> (B, H, W, 3)`` in ``[-1, 1]``.
    """
    check_norm(norm)
    if res_blocks < 1 or filters < 1:
        raise ValueError(
            f"resnet_generator: need filters >= 1 and res_blocks >= 1, got {filters}, {res_blocks}"
        )
    inputs = keras.Input((image_size, image_size, 3), name="image")  # (B, H, W, 3)
    x = ReflectionPadding2D(3, name="c7_pad")(inputs)  # (B, H+6, W+6, 3)
    x = _conv(filters, 7, norm=norm, name="c7s1")(x)  # (B, H, W, f)
    x = layers.ReLU()(normalize(x, norm, name="c7s1_norm"))
    for i, width in enumerate((filters * 2, filters * 4)):  # (B, H/2, W/2, 2f) then (B, H/4, W/4, 4f)
        x = _conv(width, 3, strides=2, padding="same", norm=norm, name=f"down{i + 1}")(x)
        x = layers.ReLU()(normalize(x, norm, name=f"down{i + 1}_norm"))
    for i in range(res_blocks):  # (B, H/4, W/4, 4f)
        x = _residual_block(x, filters * 4, norm, name=f"res{i + 1}")
    for i, width in enumerate((filters * 2, filters)):  # (B, H/2, W/2, 2f) then (B, H, W, f)
        x = layers.Conv2DTranspose(
            width,
            3,
            strides=2,
            padding="same",
            use_bias=norm == "none",
            kernel_initializer=init(),
            name=f"up{i + 1}",
        )(x)
        x = layers.ReLU()(normalize(x, norm, name=f"up{i + 1}_norm"))
    x = ReflectionPadding2D(3, name="out_pad")(x)  # (B, H+6, W+6, f)
    x = layers.Conv2D(3, 7, kernel_initializer=init(), name="to_rgb")(x)  # (B, H, W, 3)
    outputs = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, outputs, name=name)


def unet_depth(image_size: int) -> int:
    """Down-steps that take ``image_size`` to 1×1 (8 at 256 px), at most 8."""
    depth = int(math.log2(image_size))
    if 2**depth != image_size or depth < 2:
        raise ValueError(
            f"unet_generator: image_size={image_size} must be a power of two >= 4 (or pass depth)"
        )
    return min(depth, 8)


def unet_generator(
    filters: int = 64,
    norm: str = "instance",
    image_size: int = 256,
    depth: int | None = None,
    dropout: float = 0.5,
    fixed_size: bool = False,
    name: str = "unet_generator",
) -> keras.Model:
    """The pix2pix / TensorFlow-tutorial U-Net generator.

    Widths down: ``f, 2f, 4f, 8f, 8f, …`` (``depth`` steps); up: the mirror, with skip concatenations and
    dropout on the ``depth - 5`` deepest up-steps (3 at 256 px, as in the tutorial).

    Args:
        filters: width of the first down-step (64).
        norm: ``"instance"`` (the tutorial's CycleGAN), ``"batch"`` (pix2pix) or ``"none"``.
        image_size: the training side; sets the default ``depth`` (``log2(image_size)``, at most 8).
        depth: number of stride-2 down-steps (inputs must be divisible by ``2**depth``).
        dropout: dropout rate of the deepest up-steps (0 disables).
        fixed_size: fix the input to ``image_size`` (default: any divisible side).
        name: model name.

    Returns:
        ``keras.Model``: ``(B, H, W, 3) -> (B, H, W, 3)`` in ``[-1, 1]``.
    """
    check_norm(norm)
    depth = depth or unet_depth(image_size)
    if depth < 2:
        raise ValueError(f"unet_generator: depth must be >= 2, got {depth}")
    widths = [filters * min(2**i, 8) for i in range(depth)]  # f, 2f, 4f, 8f, 8f, ...
    side = image_size if fixed_size else None
    inputs = keras.Input((side, side, 3), name="image")  # (B, H, W, 3)
    x, skips = inputs, []
    for i, width in enumerate(widths):  # (B, H / 2**(i+1), W / 2**(i+1), width)
        x = layers.Conv2D(
            width,
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=init(),
            name=f"down{i + 1}",
        )(x)
        if 0 < i < depth - 1:  # no norm on the first (pix2pix) nor the 1×1 innermost step
            x = normalize(x, norm, name=f"down{i + 1}_norm")
        x = layers.LeakyReLU(0.2, name=f"down{i + 1}_lrelu")(x)
        skips.append(x)
    n_dropout = max(0, depth - 5)
    for i, (width, skip) in enumerate(zip(reversed(widths[:-1]), reversed(skips[:-1]))):
        x = layers.Conv2DTranspose(
            width, 4, strides=2, padding="same", use_bias=False, kernel_initializer=init(), name=f"up{i + 1}"
        )(x)  # (B, 2h, 2w, width)
        x = normalize(x, norm, name=f"up{i + 1}_norm")
        if dropout and i < n_dropout:
            x = layers.Dropout(dropout, name=f"up{i + 1}_dropout")(x)
        x = layers.ReLU(name=f"up{i + 1}_relu")(x)
        x = layers.Concatenate(name=f"skip{i + 1}")([x, skip])  # (B, 2h, 2w, 2·width)
    x = layers.Conv2DTranspose(3, 4, strides=2, padding="same", kernel_initializer=init(), name="to_rgb")(x)
    outputs = layers.Activation("tanh", dtype="float32", name="tanh")(x)  # (B, H, W, 3)
    return keras.Model(inputs, outputs, name=name)


def build_generator(kind: str = "resnet", **kwargs) -> keras.Model:
    """A generator by name: ``"resnet"`` (:func:`resnet_generator`) or ``"unet"`` (:func:`unet_generator`).

    ``kwargs`` not taken by the chosen design are ignored (``res_blocks`` for the U-Net, ``depth`` /
    ``dropout`` / ``image_size`` for the ResNet, which always accepts any side), so one config can build
    either.
    """
    if kind == "resnet":
        allowed = ("filters", "res_blocks", "norm", "name")  # any input side: train at 128, export at 256
        return resnet_generator(**{k: v for k, v in kwargs.items() if k in allowed})
    if kind == "unet":
        allowed = ("filters", "norm", "image_size", "depth", "dropout", "fixed_size", "name")
        return unet_generator(**{k: v for k, v in kwargs.items() if k in allowed})
    raise ValueError(f"unknown generator {kind!r}; choose from {', '.join(GENERATORS)}")


def build_generator_from(config: CycleGANConfig, name: str) -> keras.Model:
    """One generator as the config describes (used for training and to load one for export)."""
    return build_generator(
        config.generator,
        filters=config.filters,
        res_blocks=config.res_blocks,
        norm=config.norm,
        image_size=config.image_size,
        depth=config.unet_depth,
        dropout=config.dropout,
        name=name,
    )


def build_discriminator_from(config: CycleGANConfig, name: str) -> keras.Model:
    """One PatchGAN discriminator as the config describes."""
    return patchgan_discriminator(filters=config.disc_filters, norm=config.norm, name=name)
