"""DiffAugment: differentiable augmentation applied to real *and* fake batches in train steps.

Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training",
https://arxiv.org/abs/2006.10738. With only 300 Monet paintings the discriminator over-fits; showing it
the same random colour / translation / cutout on real and generated images fixes that while gradients
still flow to the generator. Images are ``(B, H, W, C)`` floats in ``[-1, 1]``.
"""

from __future__ import annotations

import tensorflow as tf


def _uniform(batch, low=0.0, high=1.0):
    return tf.random.uniform([batch, 1, 1, 1], low, high, dtype=tf.float32)


def _brightness(x):
    return x + tf.cast(_uniform(tf.shape(x)[0], -0.5, 0.5), x.dtype)


def _saturation(x):
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    return (x - mean) * tf.cast(_uniform(tf.shape(x)[0], 0.0, 2.0), x.dtype) + mean


def _contrast(x):
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * tf.cast(_uniform(tf.shape(x)[0], 0.5, 1.5), x.dtype) + mean


def translation(x, ratio: float = 0.125):
    """Shift each image by up to ``ratio`` of its size, zero-filling (differentiable gather)."""
    shape = tf.shape(x)
    batch, height, width = shape[0], shape[1], shape[2]
    shift_h = tf.cast(tf.cast(height, tf.float32) * ratio + 0.5, tf.int32)
    shift_w = tf.cast(tf.cast(width, tf.float32) * ratio + 0.5, tf.int32)
    dy = tf.random.uniform([batch, 1], -shift_h, shift_h + 1, dtype=tf.int32)
    dx = tf.random.uniform([batch, 1], -shift_w, shift_w + 1, dtype=tf.int32)
    rows = tf.range(height)[None, :] + dy  # (B, H)
    cols = tf.range(width)[None, :] + dx  # (B, W)
    row_ok = tf.logical_and(rows >= 0, rows < height)
    col_ok = tf.logical_and(cols >= 0, cols < width)
    x = tf.gather(x, tf.clip_by_value(rows, 0, height - 1), axis=1, batch_dims=1)
    x = tf.gather(x, tf.clip_by_value(cols, 0, width - 1), axis=2, batch_dims=1)
    mask = tf.cast(row_ok[:, :, None, None], x.dtype) * tf.cast(col_ok[:, None, :, None], x.dtype)
    return x * mask


def cutout(x, ratio: float = 0.5):
    """Zero a random ``ratio``-sized square per image."""
    shape = tf.shape(x)
    batch, height, width = shape[0], shape[1], shape[2]
    cut_h = tf.cast(tf.cast(height, tf.float32) * ratio + 0.5, tf.int32)
    cut_w = tf.cast(tf.cast(width, tf.float32) * ratio + 0.5, tf.int32)
    cy = tf.random.uniform([batch, 1], 0, height + (1 - cut_h % 2), dtype=tf.int32)
    cx = tf.random.uniform([batch, 1], 0, width + (1 - cut_w % 2), dtype=tf.int32)
    rows = tf.range(height)[None, :]
    cols = tf.range(width)[None, :]
    in_rows = tf.logical_and(rows >= cy - cut_h // 2, rows < cy - cut_h // 2 + cut_h)
    in_cols = tf.logical_and(cols >= cx - cut_w // 2, cols < cx - cut_w // 2 + cut_w)
    hole = tf.logical_and(in_rows[:, :, None], in_cols[:, None, :])
    return x * tf.cast(tf.logical_not(hole), x.dtype)[..., None]


def color(x):
    return _contrast(_saturation(_brightness(x)))


POLICIES = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x, policy: str = "color,translation,cutout"):
    """Apply the comma-separated ``policy`` (``color``, ``translation``, ``cutout``) to a batch.

    Raises:
        ValueError: an unknown policy name.
    """
    for name in [p.strip() for p in policy.split(",") if p.strip()]:
        if name not in POLICIES:
            raise ValueError(f"unknown DiffAugment policy {name!r}; choose from {', '.join(POLICIES)}")
        x = POLICIES[name](x)
    return x
