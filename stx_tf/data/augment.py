"""Per-image training augmentation (``tf.data`` maps) for ``[-1, 1]`` float images.

* random jitter (Isola et al. 2017, https://arxiv.org/abs/1611.07004): resize to 286 → random 256 crop,
* horizontal flip, and optional random 90° rotations (square images).
"""

from __future__ import annotations

import tensorflow as tf


def random_jitter(image: tf.Tensor, size: int = 256, jitter_size: int | None = None) -> tf.Tensor:
    """Resize ``(H, W, 3)`` up to ``jitter_size`` (default ``size·286/256``) and crop a random ``size²`` patch."""
    jitter_size = jitter_size or int(round(size * 286 / 256))
    image = tf.image.resize(image, (jitter_size, jitter_size), method="bilinear")
    return tf.image.random_crop(image, (size, size, 3))


def random_rot90(image: tf.Tensor) -> tf.Tensor:
    """Rotate by a random multiple of 90° (square images keep their shape)."""
    return tf.image.rot90(image, k=tf.random.uniform([], 0, 4, dtype=tf.int32))


def augment(
    image: tf.Tensor, size: int = 256, jitter: bool = True, flip: bool = True, rot90: bool = False
) -> tf.Tensor:
    """The standard CycleGAN augmentation of one ``(size, size, 3)`` image in ``[-1, 1]``."""
    if jitter:
        image = random_jitter(image, size)
    if flip:
        image = tf.image.random_flip_left_right(image)
    if rot90:
        image = random_rot90(image)
    return tf.ensure_shape(image, (size, size, 3))


def augmenter(size: int = 256, jitter: bool = True, flip: bool = True, rot90: bool = False):
    """An ``augment`` function with its options bound, for :func:`stx_tf.data.make_pipeline`."""

    def fn(image):
        return augment(image, size=size, jitter=jitter, flip=flip, rot90=rot90)

    return fn
