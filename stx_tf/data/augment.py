"""Per-image training augmentation for ``tf.data`` maps.

* random jitter (Isola et al. 2017, https://arxiv.org/abs/1611.07004): "resize to 286, random 256 crop".
  Done in the cheaper, equivalent order: crop a random ``size·256/286`` window of the source (a slice),
  then resize that window to ``size`` — the same sampling as resize-then-crop without resizing pixels
  that are thrown away.
* horizontal flip, and optional random 90° rotations (square images).

Inputs may be uint8 (straight from the decoder, cheapest) or float in ``[-1, 1]``; the output is float32
``(size, size, 3)`` in ``[-1, 1]``.
"""

from __future__ import annotations

import tensorflow as tf


def _to_signed(image: tf.Tensor) -> tf.Tensor:
    if image.dtype == tf.uint8:
        return tf.cast(image, tf.float32) / 127.5 - 1.0
    return tf.cast(image, tf.float32)


def random_jitter(image: tf.Tensor, size: int = 256, jitter_size: int | None = None) -> tf.Tensor:
    """Random crop of a ``size/jitter_size`` window of ``(H, W, 3)`` resized to ``size×size``
    (``jitter_size`` defaults to ``size·286/256``, the CycleGAN/pix2pix 286 → 256 jitter)."""
    jitter_size = jitter_size or int(round(size * 286 / 256))
    shape = tf.shape(image)
    side = tf.cast(
        tf.round(tf.cast(tf.minimum(shape[0], shape[1]), tf.float32) * size / jitter_size), tf.int32
    )
    window = tf.image.random_crop(image, tf.stack([side, side, 3]))
    return tf.image.resize(_to_signed(window), (size, size), method="bilinear")


def random_rot90(image: tf.Tensor) -> tf.Tensor:
    """Rotate by a random multiple of 90° (square images keep their shape)."""
    return tf.image.rot90(image, k=tf.random.uniform([], 0, 4, dtype=tf.int32))


def augment(
    image: tf.Tensor, size: int = 256, jitter: bool = True, flip: bool = True, rot90: bool = False
) -> tf.Tensor:
    """The standard CycleGAN augmentation of one ``(H, W, 3)`` image -> float32 ``(size, size, 3)`` in ``[-1, 1]``."""
    if jitter:
        image = random_jitter(image, size)
    else:
        image = (
            tf.image.resize(_to_signed(image), (size, size)) if image.shape[0] != size else _to_signed(image)
        )
    if flip:
        image = tf.image.random_flip_left_right(image)
    if rot90:
        image = random_rot90(image)
    return tf.ensure_shape(image, (size, size, 3))


def augmenter(size: int = 256, jitter: bool = True, flip: bool = True, rot90: bool = False):
    """:func:`augment` with its options bound, for ``make_pipeline`` / ``pair_domains`` (``augment_fn=``)."""

    def fn(image):
        return augment(image, size=size, jitter=jitter, flip=flip, rot90=rot90)

    return fn
