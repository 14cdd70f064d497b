"""The image pool: discriminators see a history of generated images, not only the newest ones.

Shrivastava et al. 2017 (https://arxiv.org/abs/1612.07828), as used by CycleGAN (Zhu et al. 2017,
https://arxiv.org/abs/1703.10593, section 4): a buffer of the last 50 generated images. While the buffer
fills, images pass through and are stored; afterwards each image is, with probability ½, swapped for a
random stored one (which it replaces), or passed through.

The buffer lives in non-trainable variables of a Keras layer, so the pool works inside ``tf.function``
and on TPU (static shapes, no Python state), is saved with the model's checkpoints (exact resume), and
under a ``tf.distribute`` strategy each replica keeps its own pool (``on_read`` variables; the first
replica's pool is the one written to checkpoints).
"""

from __future__ import annotations

import keras
import tensorflow as tf

#: The paper's pool size.
POOL_SIZE = 50


class ImagePool(keras.layers.Layer):
    """A pool of past generated images.

    Args:
        image_shape: ``(H, W, C)`` of the images (static).
        pool_size: images kept (50); 0 disables the pool (images pass through).
        swap_probability: chance that a full pool returns a stored image instead of the new one (½).

    Call:
        ``pool(images)`` with ``images`` of shape ``(B, H, W, C)`` returns a batch of the same shape (no
        gradient flows through it). Within one batch the swapped slots are distinct, so the result equals
        the paper's image-by-image procedure except that an image stored by this same batch is never
        handed back by it.
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
            self.images = keras.Variable(
                initializer="zeros",
                shape=(self.pool_size, *self.image_shape),
                dtype="float32",
                trainable=False,
                name="images",
                **sync,
            )
            self.count = keras.Variable(
                initializer="zeros", shape=(), dtype="int32", trainable=False, name="count", **sync
            )
        self.built = True

    def call(self, images):
        images = tf.stop_gradient(images)
        if not self.pool_size:
            return images
        batch = tf.shape(images)[0]
        stored = tf.cast(images, tf.float32)
        count = tf.convert_to_tensor(self.count)
        pool = tf.convert_to_tensor(self.images)
        position = count + tf.range(batch)  # (B,) slot each image would take while filling
        filling = position < self.pool_size
        swap = tf.logical_and(~filling, tf.random.uniform([batch]) < self.swap_probability)
        # Distinct random slots for the swaps, already-filled slots first (static shapes: TPU friendly).
        order = tf.random.uniform([self.pool_size]) + tf.cast(tf.range(self.pool_size) >= count, tf.float32)
        random_slots = tf.gather(tf.argsort(order), tf.range(batch) % self.pool_size)
        slots = tf.where(filling, position, random_slots)  # (B,)
        old = tf.gather(pool, slots)  # (B, H, W, C)
        out = tf.where(swap[:, None, None, None], old, stored)
        write = tf.cast(tf.logical_or(filling, swap), tf.float32)[:, None, None, None]
        # Written slots are distinct; the others add zero, so a scatter-add of the differences updates in place.
        delta = (stored - old) * write
        self.images.assign(tf.tensor_scatter_nd_add(pool, slots[:, None], delta))
        self.count.assign(tf.minimum(count + batch, self.pool_size))
        return tf.cast(out, images.dtype)

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
