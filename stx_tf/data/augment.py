"""Per-image training augmentation for ``tf.data`` maps.

* random jitter (Isola et al. 2017, https://arxiv.org/abs/1611.07004): "resize to 286, random 256 crop".
  Done in the cheaper, equivalent order: crop a random ``size·256/286`` window of the source (a slice),
  then resize that window to ``size`` — the same sampling as resize-then-crop without resizing pixels
  that are thrown away.
* horizontal flip, and optional random 90° rotations (square images).

Inputs may be encoded image bytes (``load_images(..., encoded=True)``: cheapest, a JPEG is decoded only
inside its crop window by ``tf.io.decode_and_crop_jpeg``), uint8 images straight from the decoder, or float
in ``[-1, 1]``; the output is float32 ``(size, size, 3)`` in ``[-1, 1]``.
"""

from __future__ import annotations

import tensorflow as tf

from stx_tf.data.decode import decode_uint8, is_jpeg

NOT_JPEG = "augment(jpeg_only=True): these image bytes are not a JPEG (use jpeg_only=False for other formats)"


def _to_signed(image: tf.Tensor) -> tf.Tensor:
    if image.dtype == tf.uint8:
        return tf.cast(image, tf.float32) * (1.0 / 127.5) - 1.0
    return tf.cast(image, tf.float32)


def random_mirror(image: tf.Tensor) -> tf.Tensor:
    """Mirror an ``(H, W, C)`` image left-right with probability ½.

    ``tf.reverse`` over a random axis list (``[]`` or ``[1]``) instead of ``tf.image.random_flip_left_right``'s
    conditional: the same distribution, a few per cent more pipeline throughput.
    """
    return tf.reverse(image, tf.range(1, 1 + tf.random.uniform([], 0, 2, dtype=tf.int32)))


def _resize_window(window: tf.Tensor, side: tf.Tensor, size: int) -> tf.Tensor:
    """A float ``(side, side, 3)`` window -> ``(size, size, 3)``, bilinear (antialiased when shrinking).

    The raw ``ResizeBilinear`` op is what ``tf.image.resize`` calls for upscaling, minus its wrapper ops.
    """

    def upscale():
        return tf.raw_ops.ResizeBilinear(images=window[None], size=[size, size], half_pixel_centers=True)[0]

    return tf.cond(
        side > size,
        lambda: tf.image.resize(window, (size, size), method="bilinear", antialias=True),
        upscale,
    )


def random_jitter(image: tf.Tensor, size: int = 256, jitter_size: int | None = None) -> tf.Tensor:
    """Random crop of a ``size/jitter_size`` window of ``(H, W, 3)`` resized to ``size×size``
    (``jitter_size`` defaults to ``size·286/256``, the CycleGAN/pix2pix 286 → 256 jitter)."""
    jitter_size = jitter_size or int(round(size * 286 / 256))
    shape = tf.shape(image)
    side = _jitter_side(tf.minimum(shape[0], shape[1]), size, jitter_size)
    window = tf.image.random_crop(image, tf.stack([side, side, 3]))
    return tf.image.resize(_to_signed(window), (size, size), method="bilinear")


def _jitter_side(short_side: tf.Tensor, size: int, jitter_size: int) -> tf.Tensor:
    return tf.cast(tf.round(tf.cast(short_side, tf.float32) * size / jitter_size), tf.int32)


def decode_jitter(
    data: tf.Tensor,
    size: int = 256,
    jitter_size: int | None = None,
    jpeg_only: bool = False,
    flip: bool = False,
) -> tf.Tensor:
    """:func:`random_jitter` of encoded image bytes, decoding a JPEG only inside the crop window.

    The window is placed in the centre square of the image (the square :func:`stx_tf.data.decode.fit_square_tf`
    keeps), so any image size gets the same jitter as decode → fit to ``size`` → :func:`random_jitter`.
    Windows larger than ``size`` are downscaled with antialiasing. Other formats are decoded whole.

    Args:
        data: scalar string tensor, the encoded image.
        size: output side.
        jitter_size: the "resize to" side of the jitter (default ``size·286/256``).
        jpeg_only: the bytes are known to be JPEG (TFRecords, whose schema is JPEG, or a folder that
            :func:`stx_tf.data.all_jpeg` checked): no format dispatch. The dispatch's conditional with
            its PIL branch costs about a fifth of the throughput even when every image is a JPEG.
            Other bytes then fail with an error that says so.
        flip: also mirror left-right with probability ½ (:func:`random_mirror`), done on the small uint8
            window before the resize, where it is cheapest.

    Returns:
        float32 ``(size, size, 3)`` in ``[-1, 1]``.
    """
    jitter_size = jitter_size or int(round(size * 286 / 256))

    def from_jpeg():
        shape = tf.image.extract_jpeg_shape(data)
        height, width = shape[0], shape[1]
        short = tf.minimum(height, width)
        side = _jitter_side(short, size, jitter_size)
        top = (height - short) // 2 + tf.random.uniform([], 0, short - side + 1, dtype=tf.int32)
        left = (width - short) // 2 + tf.random.uniform([], 0, short - side + 1, dtype=tf.int32)
        window = tf.io.decode_and_crop_jpeg(data, tf.stack([top, left, side, side]), channels=3)
        if flip:
            window = random_mirror(window)  # (side, side, 3) uint8
        return _resize_window(_to_signed(window), side, size)

    if jpeg_only:
        check = tf.debugging.Assert(is_jpeg(data), [NOT_JPEG])
        with tf.control_dependencies([check]):
            return tf.ensure_shape(from_jpeg(), (size, size, 3))

    def whole():
        image = random_jitter(decode_uint8(data, size), size, jitter_size)
        return random_mirror(image) if flip else image

    return tf.ensure_shape(tf.cond(is_jpeg(data), from_jpeg, whole), (size, size, 3))


def random_rot90(image: tf.Tensor) -> tf.Tensor:
    """Rotate by a random multiple of 90° (square images keep their shape)."""
    return tf.image.rot90(image, k=tf.random.uniform([], 0, 4, dtype=tf.int32))


def augment(
    image: tf.Tensor,
    size: int = 256,
    jitter: bool = True,
    flip: bool = True,
    rot90: bool = False,
    jpeg_only: bool = False,
) -> tf.Tensor:
    """The standard CycleGAN augmentation of one ``(H, W, 3)`` image -> float32 ``(size, size, 3)`` in ``[-1, 1]``.

    ``image`` may also be encoded bytes; ``jpeg_only`` says they are all JPEG (see :func:`decode_jitter`).
    """
    if image.dtype == tf.string and jitter:  # encoded bytes: flip inside, on the small window
        image = decode_jitter(image, size, jpeg_only=jpeg_only, flip=flip)
        flip = False
    elif image.dtype == tf.string:
        image = _to_signed(decode_uint8(image, size))
    elif jitter:
        image = random_jitter(image, size)
    else:
        image = (
            tf.image.resize(_to_signed(image), (size, size)) if image.shape[0] != size else _to_signed(image)
        )
    if flip:
        image = random_mirror(image)
    if rot90:
        image = random_rot90(image)
    return tf.ensure_shape(image, (size, size, 3))


def augmenter(
    size: int = 256, jitter: bool = True, flip: bool = True, rot90: bool = False, jpeg_only: bool = False
):
    """:func:`augment` with its options bound, for ``make_pipeline`` / ``pair_domains`` (``augment_fn=``)."""

    def fn(image):
        return augment(image, size=size, jitter=jitter, flip=flip, rot90=rot90, jpeg_only=jpeg_only)

    return fn
