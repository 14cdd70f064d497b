"""Generators and discriminators for 64×64 unconditional image generation.

Two designs, picked by name through :func:`build_generator` / :func:`build_discriminator` /
:func:`build_models`:

* ``"classic"`` - the small design of the Keras GAN tutorials (a Dense layer reshaped to 16×16×256, two
  stride-2 transposed convolutions, LeakyReLU 0.2, ``tanh``; a discriminator of three 3×3 convolutions
  with 64 filters and strides 1-2-2, LeakyReLU, dropout 0.4 and one logit). Quick to train on a CPU.
* ``"dcgan"`` - Radford, Metz & Chintala 2015, *Unsupervised Representation Learning with Deep
  Convolutional Generative Adversarial Networks* (https://arxiv.org/abs/1511.06434): all-convolutional,
  strided (transposed) convolutions instead of pooling, batch norm in both nets (not on the generator
  output nor the discriminator input), ReLU in the generator, LeakyReLU 0.2 in the discriminator,
  weights from N(0, 0.02).

Generators map a latent vector ``(B, latent_dim)`` to images ``(B, 64, 64, 3)`` in ``[-1, 1]``;
discriminators map such images to one real/fake logit ``(B, 1)`` (no sigmoid: losses work from logits).
"""

from __future__ import annotations

import inspect

import keras
from keras import layers

#: Image side the designs produce / accept.
IMAGE_SIZE = 64

#: Default latent size (both papers use 100).
LATENT_DIM = 100


def _dcgan_init():
    """Radford et al.: all weights from a zero-centred normal with standard deviation 0.02."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def _dcgan_bn(name: str) -> layers.BatchNormalization:
    return layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02), name=name
    )


def _dcgan_block(x, conv_cls, filters: int, name: str, activation):
    """Radford et al.'s block: stride-2 4×4 (transposed) convolution, batch norm, activation."""
    x = conv_cls(
        filters, 4, strides=2, padding="same", use_bias=False, kernel_initializer=_dcgan_init(), name=name
    )(x)
    return activation(_dcgan_bn(f"{name}_bn")(x))


def _check_side(image_size: int, steps: int, name: str) -> int:
    """The side of the first feature map for a net that doubles (or halves) ``steps`` times."""
    side = image_size // 2**steps
    if side < 1 or side * 2**steps != image_size:
        raise ValueError(f"{name}: image_size={image_size} must be a multiple of {2**steps}")
    return side


def classic_generator(
    latent_dim: int = LATENT_DIM, image_size: int = IMAGE_SIZE, base_filters: int = 256, filters: int = 128
) -> keras.Model:
    """The small Keras-tutorial generator: Dense → 16×16×256 → two stride-2 transposed convs → 64×64×3.

    Args:
        latent_dim: size of the noise vector.
        image_size: output side (a multiple of 4; 64 in the tutorials).
        base_filters: channels of the reshaped Dense output (256).
        filters: channels of the two transposed convolutions (128).

    Returns:
        ``keras.Model`` named ``classic_generator``: ``(B, latent_dim)`` -> ``(B, S, S, 3)`` in [-1, 1].
    """
    side = _check_side(image_size, 2, "classic_generator")
    z = keras.Input((latent_dim,), name="z")  # (B, latent)
    x = layers.Dense(side * side * base_filters, name="project")(z)  # (B, 16*16*256)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Reshape((side, side, base_filters))(x)  # (B, 16, 16, 256)
    for i in range(2):  # (B, 32, 32, 128) then (B, 64, 64, 128)
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", name=f"up{i + 1}")(x)
        x = layers.LeakyReLU(0.2)(x)
    out = layers.Conv2D(3, 3, padding="same", activation="tanh", name="to_rgb")(x)  # (B, 64, 64, 3)
    return keras.Model(z, out, name="classic_generator")


def classic_discriminator(
    image_size: int = IMAGE_SIZE, filters: int = 64, dropout: float = 0.4
) -> keras.Model:
    """The small Keras-tutorial discriminator: three 3×3 convs (strides 1-2-2), dropout, one logit.

    Args:
        image_size: input side.
        filters: channels of every convolution (64).
        dropout: dropout rate before the logit (0.4).

    Returns:
        ``keras.Model`` named ``classic_discriminator``: ``(B, S, S, 3)`` -> logits ``(B, 1)``.
    """
    image = keras.Input((image_size, image_size, 3), name="image")  # (B, 64, 64, 3)
    x = image
    for i, stride in enumerate((1, 2, 2)):  # (B, 64, 64, 64) -> (B, 32, 32, 64) -> (B, 16, 16, 64)
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", name=f"conv{i + 1}")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)  # (B, 16*16*64)
    x = layers.Dropout(dropout)(x)
    logit = layers.Dense(1, name="logit")(x)  # (B, 1)
    return keras.Model(image, logit, name="classic_discriminator")


def dcgan_generator(
    latent_dim: int = LATENT_DIM, image_size: int = IMAGE_SIZE, filters: int = 64
) -> keras.Model:
    """Radford et al. 2015 generator (https://arxiv.org/abs/1511.06434, figure 1).

    Project-and-reshape to 4×4×(8·filters), then stride-2 transposed 4×4 convolutions halving the
    channels while doubling the side, batch norm + ReLU after each but the last, ``tanh`` output.

    Args:
        latent_dim: size of the noise vector (100 in the paper).
        image_size: output side (a multiple of 16; 64 in the paper).
        filters: channels before the output layer (``ngf`` = 64 in the reference code); the 4×4 map has
            ``8 * filters``.

    Returns:
        ``keras.Model`` named ``dcgan_generator``: ``(B, latent_dim)`` -> ``(B, S, S, 3)`` in [-1, 1].
    """
    side = _check_side(image_size, 4, "dcgan_generator")
    init = _dcgan_init()
    z = keras.Input((latent_dim,), name="z")  # (B, latent)
    x = layers.Dense(side * side * filters * 8, use_bias=False, kernel_initializer=init, name="project")(z)
    x = layers.Reshape((side, side, filters * 8))(x)  # (B, 4, 4, 512)
    x = _dcgan_bn("project_bn")(x)
    x = layers.ReLU()(x)
    for i, mult in enumerate((4, 2, 1)):  # (B, 8, 8, 256) -> (B, 16, 16, 128) -> (B, 32, 32, 64)
        x = _dcgan_block(x, layers.Conv2DTranspose, filters * mult, f"up{i + 1}", layers.ReLU())
    out = layers.Conv2DTranspose(
        3, 4, strides=2, padding="same", activation="tanh", kernel_initializer=init, name="to_rgb"
    )(x)  # (B, 64, 64, 3)
    return keras.Model(z, out, name="dcgan_generator")


def dcgan_discriminator(image_size: int = IMAGE_SIZE, filters: int = 64) -> keras.Model:
    """Radford et al. 2015 discriminator (https://arxiv.org/abs/1511.06434).

    Stride-2 4×4 convolutions doubling the channels (no batch norm on the first), LeakyReLU 0.2, then a
    4×4 valid convolution to one logit.

    Args:
        image_size: input side (a multiple of 16).
        filters: channels of the first convolution (``ndf`` = 64 in the reference code).

    Returns:
        ``keras.Model`` named ``dcgan_discriminator``: ``(B, S, S, 3)`` -> logits ``(B, 1)``.
    """
    side = _check_side(image_size, 4, "dcgan_discriminator")
    init = _dcgan_init()
    image = keras.Input((image_size, image_size, 3), name="image")  # (B, 64, 64, 3)
    x = layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=init, name="down1")(image)
    x = layers.LeakyReLU(0.2)(x)  # (B, 32, 32, 64)
    for i, mult in enumerate((2, 4, 8)):  # (B, 16, 16, 128) -> (B, 8, 8, 256) -> (B, 4, 4, 512)
        x = _dcgan_block(x, layers.Conv2D, filters * mult, f"down{i + 2}", layers.LeakyReLU(0.2))
    x = layers.Conv2D(1, side, padding="valid", kernel_initializer=init, name="logit")(x)  # (B, 1, 1, 1)
    logit = layers.Flatten()(x)  # (B, 1)
    return keras.Model(image, logit, name="dcgan_discriminator")


#: Designs by name: (generator factory, discriminator factory).
ARCHITECTURES = {
    "classic": (classic_generator, classic_discriminator),
    "dcgan": (dcgan_generator, dcgan_discriminator),
}


def _factories(name: str):
    key = str(name).lower()
    if key not in ARCHITECTURES:
        raise ValueError(f"unknown DCGAN architecture {name!r}; choose one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[key]


def _call(factory, config: dict) -> keras.Model:
    """Call a factory, turning unknown keyword options into a clear ``ValueError``."""
    accepted = inspect.signature(factory).parameters
    unknown = sorted(set(config) - set(accepted))
    if unknown:
        raise ValueError(f"{factory.__name__}: unknown option(s) {unknown}; it accepts {sorted(accepted)}")
    return factory(**config)


def build_generator(name: str = "classic", latent_dim: int = LATENT_DIM, **config) -> keras.Model:
    """A generator by architecture name (``"classic"`` or ``"dcgan"``) with keyword config.

    Args:
        name: architecture name.
        latent_dim: size of the noise vector.
        **config: passed to the factory (``image_size``, ``filters``, ...).
    """
    if int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim}")
    return _call(_factories(name)[0], {**config, "latent_dim": int(latent_dim)})


def build_discriminator(name: str = "classic", **config) -> keras.Model:
    """A discriminator by architecture name with keyword config (``image_size``, ``filters``, ...)."""
    return _call(_factories(name)[1], config)


def build_models(
    name: str = "classic",
    latent_dim: int = LATENT_DIM,
    image_size: int = IMAGE_SIZE,
    generator: dict | None = None,
    discriminator: dict | None = None,
) -> tuple[keras.Model, keras.Model]:
    """Generator and discriminator of one design, for the same image size.

    Args:
        name: ``"classic"`` or ``"dcgan"``.
        latent_dim: size of the noise vector.
        image_size: image side shared by both nets.
        generator: extra keyword config for the generator factory (e.g. ``{"filters": 16}``).
        discriminator: extra keyword config for the discriminator factory.

    Returns:
        ``(generator, discriminator)``.
    """
    gen = build_generator(name, latent_dim=latent_dim, image_size=image_size, **(generator or {}))
    disc = build_discriminator(name, image_size=image_size, **(discriminator or {}))
    return gen, disc


def latent_dim_of(generator: keras.Model) -> int:
    """The latent size a generator expects (its input's last dimension)."""
    return int(generator.inputs[0].shape[-1])
