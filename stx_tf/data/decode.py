"""Encoded bytes to pipeline tensors (float32 in ``[-1, 1]``, ``size×size×3``).

The pipeline half of the one image decoder: JPEG bytes go through ``tf.io.decode_jpeg`` (fast, in the
graph); with ``exact=True`` (the scoring path, :mod:`stx_tf.metrics`) it uses libjpeg's accurate integer
IDCT (``dct_method="INTEGER_ACCURATE"``), which gives the same pixels as PIL - what Kaggle's scorer reads
the images with - where TensorFlow's default fast IDCT differs from PIL on most pixels by 1-4 levels.
Training inputs keep the default (a score is a number that must match Kaggle's; an augmented training
image is not). Anything else (PNG, 16-bit, palette, RGBA, WebP, ...) through :func:`stx_tf.data.images.read_image_file`
inside ``tf.numpy_function``, so every source follows the conversion policy documented in
:mod:`stx_tf.data.images` (RGB, shorter side resized to ``size`` then centre crop).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from stx_tf.data.images import JPEG_MAGIC, fit_square, read_image_file


def fit_square_tf(image: tf.Tensor, size: int) -> tf.Tensor:
    """Graph version of :func:`stx_tf.data.images.fit_square` for uint8 ``(H, W, 3)`` tensors.

    Images already ``size×size`` pass through unchanged (no resampling of the competition's files).
    """
    shape = tf.shape(image)
    height, width = shape[0], shape[1]

    def resize_and_crop():
        scale = tf.cast(size, tf.float32) / tf.cast(tf.minimum(height, width), tf.float32)
        new_h = tf.maximum(size, tf.cast(tf.round(tf.cast(height, tf.float32) * scale), tf.int32))
        new_w = tf.maximum(size, tf.cast(tf.round(tf.cast(width, tf.float32) * scale), tf.int32))
        resized = tf.image.resize(image, (new_h, new_w), method="bilinear", antialias=True)
        resized = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
        return tf.image.resize_with_crop_or_pad(resized, size, size)

    same = tf.logical_and(tf.equal(height, size), tf.equal(width, size))
    out = tf.cond(same, lambda: image, resize_and_crop)
    return tf.ensure_shape(out, (size, size, 3))


def _pil_decode(data, size: int) -> np.ndarray:
    if isinstance(data, np.ndarray):  # eager calls pass a 0-d object array, graphs pass bytes
        data = data.item()
    return fit_square(read_image_file(bytes(data)), int(size))


def is_jpeg(data: tf.Tensor) -> tf.Tensor:
    """Whether a scalar string tensor starts with the JPEG magic bytes."""
    return tf.equal(tf.strings.substr(data, 0, 3), JPEG_MAGIC)


def decode_uint8(data: tf.Tensor, size: int = 256, exact: bool = False) -> tf.Tensor:
    """Encoded image bytes (scalar string tensor) -> uint8 ``(size, size, 3)``.

    Args:
        data: the encoded image.
        size: output side (see :func:`fit_square_tf`).
        exact: decode JPEGs bit-identically to PIL (accurate integer IDCT; the scoring path).
    """
    dct_method = "INTEGER_ACCURATE" if exact else ""

    def via_tf():
        return fit_square_tf(tf.io.decode_jpeg(data, channels=3, dct_method=dct_method), size)

    def via_pil():
        out = tf.numpy_function(_pil_decode, [data, size], tf.uint8, stateful=False)
        return tf.ensure_shape(out, (size, size, 3))

    return tf.cond(is_jpeg(data), via_tf, via_pil)


def to_signed_float(image: tf.Tensor) -> tf.Tensor:
    """uint8 ``[0, 255]`` -> float32 ``[-1, 1]``."""
    return tf.cast(image, tf.float32) / 127.5 - 1.0


def decode_image(data: tf.Tensor, size: int = 256, exact: bool = False) -> tf.Tensor:
    """Encoded image bytes -> float32 ``(size, size, 3)`` in ``[-1, 1]`` (``exact``: as PIL decodes JPEGs)."""
    return to_signed_float(decode_uint8(data, size, exact))
