"""Layers several painters share: the N(0, 0.02) initialiser, the selectable normalisation, reflection
padding, the 70×70 PatchGAN discriminator, the image pool and the random-seed generator of train steps.

Everything here is written with Keras layers and ``keras.ops``, so it runs under the TensorFlow and the
JAX backend alike (CycleGAN, CUT, fast style).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from stx_tf.configs import NORMS

#: The image pool size of CycleGAN (Zhu et al. 2017, section 4).
POOL_SIZE = 50


def check_norm(norm: str) -> str:
    """``norm`` if it is one of :data:`NORMS`, else a ``ValueError``."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    return norm


def init(stddev: float = 0.02) -> keras.initializers.Initializer:
    """Zhu et al. / Isola et al.: weights drawn from N(0, 0.02)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=stddev)


def norm_layer(norm: str, name: str | None = None, gamma_stddev: float = 0.02, dtype=None) -> layers.Layer | None:
    """The normalisation layer for ``norm``, or None for ``"none"``.

    ``"instance"`` (Ulyanov et al. 2016, https://arxiv.org/abs/1607.08022) is
    ``GroupNormalization(groups=-1)``. The scale starts from N(1, ``gamma_stddev``) (CycleGAN's 0.02;
    0 gives ones, the fast-style transform net's).
    """
    gamma = keras.initializers.RandomNormal(mean=1.0, stddev=gamma_stddev) if gamma_stddev else "ones"
    if check_norm(norm) == "instance":
        return layers.GroupNormalization(groups=-1, epsilon=1e-5, gamma_initializer=gamma, name=name, dtype=dtype)
    if norm == "batch":
        return layers.BatchNormalization(epsilon=1e-5, gamma_initializer=gamma, name=name, dtype=dtype)
    return None


def normalize(x, norm: str, name: str | None = None):
    """Apply :func:`norm_layer` (identity for ``"none"``)."""
    layer = norm_layer(norm, name)
    return x if layer is None else layer(x)


def reflect_pad(x, ph: int, pw: int | None = None):
    """Mirror ``ph`` rows and ``pw`` columns (default ``ph``) onto each border: ``(B, H, W, C) ->
    (B, H + 2ph, W + 2pw, C)`` - no zero frame for the next convolution."""
    pw = ph if pw is None else pw
    return ops.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]], mode="reflect")


@keras.saving.register_keras_serializable(package="stx_tf")
class ReflectionPadding2D(layers.Layer):
    """Pad height and width by mirroring the border (no zero frame for the next convolution).

    ``(B, H, W, C) -> (B, H + 2p, W + 2p, C)``.
    """

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, x):
        return reflect_pad(x, self.padding)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        grow = lambda n: None if n is None else n + 2 * self.padding  # noqa: E731
        return (b, grow(h), grow(w), c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def patchgan_discriminator(
    filters: int = 64,
    n_layers: int = 3,
    norm: str = "instance",
    image_size: int | None = None,
    name: str = "patchgan_discriminator",
) -> keras.Model:
    """The 70×70 PatchGAN discriminator of pix2pix and CycleGAN.

    Isola et al. 2017 (https://arxiv.org/abs/1611.07004) / Zhu et al. 2017
    (https://arxiv.org/abs/1703.10593): ``C64 - C128 - C256 - C512`` (4×4 convolutions, LeakyReLU 0.2, no
    norm on the first), then a 4×4 convolution to one channel. Each output value judges one 70×70 patch;
    raw scores (no sigmoid: the losses take logits / LSGAN scores), float32 under mixed precision.

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
            width, 4, strides=2, padding="same", use_bias=i == 0 or norm == "none",
            kernel_initializer=init(), name=f"down{i + 1}",
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


class StepSeed(keras.random.SeedGenerator):
    """The seed generator of a train step's random ops (image pool, DiffAugment, patch sampling).

    Its state is a model variable, so it is checkpointed (a resumed run continues the random stream) and
    threaded through JAX's stateless step. Under a multi-replica ``tf.distribute`` strategy each replica
    folds its replica id into the seeds it draws, so replicas do not augment their images identically.
    """

    def next(self, ordered=True):
        seed = super().next(ordered)
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            replica = tf.distribute.get_replica_context()
            if replica is not None and replica.num_replicas_in_sync > 1:
                offset = ops.cast(replica.replica_id_in_sync_group, seed.dtype) * 7919
                seed = seed + ops.stack([ops.zeros_like(offset), offset])
        return seed


class ImagePool(layers.Layer):
    """A pool of past generated images: discriminators see a history, not only the newest fakes.

    Shrivastava et al. 2017 (https://arxiv.org/abs/1612.07828), as used by CycleGAN (Zhu et al. 2017,
    https://arxiv.org/abs/1703.10593, section 4): a buffer of the last 50 generated images. While the
    buffer fills, images pass through and are stored; afterwards each image is, with probability ½,
    swapped for a random stored one (which it replaces), or passed through.

    The buffer lives in non-trainable variables (static shapes: TPU friendly; checkpointed with the run;
    threaded through JAX's stateless step). Under a ``tf.distribute`` strategy each replica keeps its own
    pool (``on_read`` variables; the first replica's pool is the one written to checkpoints).

    Args:
        image_shape: ``(H, W, C)`` of the images (static).
        pool_size: images kept (50); 0 disables the pool (images pass through).
        swap_probability: chance that a full pool returns a stored image instead of the new one (½).

    Call:
        ``pool(images, seed)``: ``(B, H, W, C) -> (B, H, W, C)``, no gradient flows through it; ``seed`` is
        the step's :class:`StepSeed` (``None``: Keras' global generator, fine outside compiled JAX steps). Within one batch
        the swapped slots are distinct, so the result equals the paper's image-by-image procedure except
        that an image stored by this same batch is never handed back by it.
    """

    def __init__(self, image_shape, pool_size: int = POOL_SIZE, swap_probability: float = 0.5, **kwargs):
        kwargs.setdefault("dtype", "float32")  # stored exactly, whatever the mixed-precision policy
        super().__init__(trainable=False, **kwargs)
        if pool_size < 0:
            raise ValueError(f"pool_size must be >= 0, got {pool_size}")
        self.image_shape = tuple(int(d) for d in image_shape)
        self.pool_size = int(pool_size)
        self.swap_probability = float(swap_probability)
        if self.pool_size:
            sync = {"synchronization": "on_read", "aggregation": "only_first_replica"}
            if keras.backend.backend() != "tensorflow":
                sync = {}
            self.images = keras.Variable(
                initializer="zeros", shape=(self.pool_size, *self.image_shape), dtype="float32",
                trainable=False, name="images", **sync,
            )
            self.count = keras.Variable(
                initializer="zeros", shape=(), dtype="int32", trainable=False, name="count", **sync
            )
        self.built = True

    def call(self, images, seed=None):
        images = ops.stop_gradient(images)
        if not self.pool_size:
            return images
        batch = ops.shape(images)[0]
        stored = ops.cast(images, "float32")
        count = ops.convert_to_tensor(self.count.value)
        pool = self.images.value
        position = count + ops.arange(batch, dtype="int32")  # (B,) slot each image would take while filling
        filling = position < self.pool_size
        draws = keras.random.uniform((batch + self.pool_size,), seed=seed)
        swap = ops.logical_and(ops.logical_not(filling), draws[:batch] < self.swap_probability)
        # Distinct random slots for the swaps, already-filled slots first.
        order = draws[batch:] + ops.cast(ops.arange(self.pool_size, dtype="int32") >= count, "float32")
        random_slots = ops.take(ops.argsort(order), ops.arange(batch, dtype="int32") % self.pool_size)
        slots = ops.cast(ops.where(filling, position, random_slots), "int32")  # (B,)
        old = ops.take(pool, slots, axis=0)  # (B, H, W, C)
        out = ops.where(swap[:, None, None, None], old, stored)
        write = ops.logical_or(filling, swap)[:, None, None, None]
        # Written slots are distinct; the others write back what they hold.
        self.images.assign(ops.scatter_update(pool, slots[:, None], ops.where(write, stored, old)))
        self.count.assign(ops.minimum(count + batch, self.pool_size))
        return ops.cast(out, images.dtype)

    def reset(self) -> None:
        """Empty the pool."""
        if self.pool_size:
            self.count.assign(0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "pool_size": self.pool_size,
            "swap_probability": self.swap_probability,
        }
