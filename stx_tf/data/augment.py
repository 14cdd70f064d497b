"""Training augmentation for ``tf.data`` pipelines, batched so it costs one op per batch.

* random jitter (Isola et al. 2017, https://arxiv.org/abs/1611.07004): resize to 286 → random 256 crop,
  done as one ``crop_and_resize`` per batch with a random box per image (the same pixels as
  resize-then-crop, without the 286² intermediate),
* horizontal flip (a mirrored box, free), and optional random 90° rotations (square images).

:func:`augment_batch` works on ``(B, H, W, 3)`` uint8 or ``[-1, 1]`` float batches and returns float32 in
``[-1, 1]``; :func:`augment` is the same for one image.
"""

from __future__ import annotations

import tensorflow as tf


def _boxes(batch, size: int, jitter_size: int, flip: bool) -> tf.Tensor:
    frac = size / jitter_size
    offsets = tf.random.uniform([batch, 2], 0.0, 1.0 - frac)
    y, x = offsets[:, 0], offsets[:, 1]
    x1, x2 = x, x + frac
    if flip:  # a box with x1 > x2 makes crop_and_resize mirror the crop
        mirrored = tf.random.uniform([batch]) < 0.5
        x1, x2 = tf.where(mirrored, x2, x1), tf.where(mirrored, x1, x2)
    return tf.stack([y, x1, y + frac, x2], axis=1)  # (B, 4): y1, x1, y2, x2


def _to_signed(images: tf.Tensor) -> tf.Tensor:
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 127.5 - 1.0
    return tf.cast(images, tf.float32)


def random_rot90_batch(images: tf.Tensor) -> tf.Tensor:
    """Rotate each square image of a batch by its own random multiple of 90°."""
    batch = tf.shape(images)[0]
    k = tf.random.uniform([batch, 1, 1, 1], 0, 4, dtype=tf.int32)
    transposed = tf.transpose(images, [0, 2, 1, 3])
    # rot90 k=1: transpose + flip up-down; k=2: flip both; k=3: transpose + flip left-right.
    out = tf.where(tf.equal(k % 2, 1), transposed, images)
    out = tf.where(tf.logical_or(tf.equal(k, 1), tf.equal(k, 2)), tf.reverse(out, [1]), out)
    out = tf.where(tf.logical_or(tf.equal(k, 2), tf.equal(k, 3)), tf.reverse(out, [2]), out)
    return out


def augment_batch(
    images: tf.Tensor,
    size: int = 256,
    jitter: bool = True,
    flip: bool = True,
    rot90: bool = False,
    jitter_size: int | None = None,
) -> tf.Tensor:
    """Augment a batch ``(B, H, W, 3)`` (uint8 or float in ``[-1, 1]``) -> float32 ``(B, size, size, 3)``.

    Args:
        images: the batch.
        size: output side.
        jitter: random crop of a ``size/jitter_size`` box, resized to ``size`` (bilinear).
        flip: random horizontal mirror.
        rot90: random multiple of 90° (square images).
        jitter_size: the resize-before-crop side (default ``size·286/256``).
    """
    batch = tf.shape(images)[0]
    if jitter:
        jitter_size = jitter_size or int(round(size * 286 / 256))
        boxes = _boxes(batch, size, jitter_size, flip)
        out = tf.image.crop_and_resize(images, boxes, tf.range(batch), (size, size), method="bilinear")
        out = out / 127.5 - 1.0 if images.dtype == tf.uint8 else out
    else:
        out = _to_signed(images)
        if flip:
            mirrored = tf.random.uniform([batch, 1, 1, 1]) < 0.5
            out = tf.where(mirrored, tf.reverse(out, [2]), out)
    if rot90:
        out = random_rot90_batch(out)
    return tf.ensure_shape(out, (None, size, size, 3))


def augment(
    image: tf.Tensor, size: int = 256, jitter: bool = True, flip: bool = True, rot90: bool = False
) -> tf.Tensor:
    """:func:`augment_batch` for one ``(H, W, 3)`` image."""
    return augment_batch(image[None], size=size, jitter=jitter, flip=flip, rot90=rot90)[0]


def random_jitter(image: tf.Tensor, size: int = 256, jitter_size: int | None = None) -> tf.Tensor:
    """Resize one image up to ``jitter_size`` (default ``size·286/256``) and crop a random ``size²`` patch."""
    return augment_batch(image[None], size=size, flip=False, jitter_size=jitter_size)[0]


def augmenter(size: int = 256, jitter: bool = True, flip: bool = True, rot90: bool = False):
    """A batch augmentation function with its options bound, for ``make_pipeline`` / ``pair_domains``
    (``batch_augment_fn=``)."""

    def fn(images):
        return augment_batch(images, size=size, jitter=jitter, flip=flip, rot90=rot90)

    return fn
