"""The one image decoder: files and bytes to RGB arrays and tensors.

Conversion policy (documented once, used everywhere):

* **Modes**: grayscale (``L``, ``I``, ``I;16``), palette (``P``), ``RGBA``/``LA`` (alpha composited
  on white), ``CMYK``, ``YCbCr`` and 16-bit images all become 8-bit RGB.
* **Sizes**: :func:`fit_square` resizes the *shorter* side to ``size`` (bilinear, antialiased) and
  takes the centre ``size×size`` crop, so nothing is stretched. Images already ``size×size`` pass
  through untouched (the competition's 256×256 JPEGs are never resampled).
* **Value ranges**: pipelines use float32 in ``[-1, 1]`` (GAN convention); single-image style
  transfer uses float32 in ``[0, 1]``. :func:`to_unit` / :func:`to_signed` convert.

Bad files raise :class:`ValueError` naming the file and what is wrong.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from stx_tf.settings import get_logger

log = get_logger(__name__)

#: File endings read as images from folders.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

#: Refuse to decode more pixels than this (decompression-bomb guard): 8,000 × 8,000.
MAX_PIXELS = 64_000_000

JPEG_MAGIC = b"\xff\xd8\xff"


def is_jpeg_bytes(data: bytes) -> bool:
    """True when ``data`` starts with the JPEG SOI marker."""
    return bytes(data[:3]) == JPEG_MAGIC


def _to_rgb(img: Image.Image) -> Image.Image:
    """Normalise any PIL mode to 8-bit RGB (alpha composited on white)."""
    img = ImageOps.exif_transpose(img) if hasattr(img, "getexif") else img
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min(initial=0)), float(arr.max(initial=1))
        arr = np.clip((arr - lo) / max(hi - lo, 1e-12) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img).convert("RGB")
    return img.convert("RGB")


def open_image(source, name: str | None = None) -> Image.Image:
    """Open a path or bytes as a PIL image (RGB), with a clear error.

    Args:
        source: a path (str / Path) or raw encoded bytes.
        name: how to call the source in error messages (defaults to the path).

    Raises:
        ValueError: missing, unreadable, truncated, non-image or over-large input.
    """
    label = name or (str(source) if not isinstance(source, bytes | bytearray) else "<bytes>")
    if not isinstance(source, bytes | bytearray):
        path = Path(source)
        if not path.exists():
            raise ValueError(f"{label}: no such file")
        if path.is_dir():
            raise ValueError(f"{label}: is a folder, expected an image file")
        source = path.read_bytes()
    if len(source) == 0:
        raise ValueError(f"{label}: empty file, not an image")
    try:
        img = Image.open(io.BytesIO(source))
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise ValueError(
                f"{label}: {width}x{height} is {width * height / 1e6:.0f} MP, over the "
                f"{MAX_PIXELS / 1e6:.0f} MP limit (decompression-bomb guard)"
            )
        img.load()
    except ValueError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as err:
        # PIL's "cannot identify image file <_io.BytesIO ...>" names a buffer, not the file: say what it means.
        reason = "not in any image format PIL reads" if isinstance(err, UnidentifiedImageError) else err
        raise ValueError(f"{label}: not a readable image ({reason})") from None
    return _to_rgb(img)


def read_image_file(source, name: str | None = None) -> np.ndarray:
    """Decode any supported image (path or bytes) to ``uint8`` RGB, shape ``(H, W, 3)``."""
    return np.asarray(open_image(source, name), dtype=np.uint8)


def fit_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize the shorter side to ``size`` and centre-crop to ``size×size`` (uint8 RGB)."""
    height, width = image.shape[:2]
    if (height, width) == (size, size):
        return image
    scale = size / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    resized = Image.fromarray(image).resize((new_w, new_h), Image.BILINEAR, reducing_gap=None)
    arr = np.asarray(resized)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return arr[top : top + size, left : left + size]


def limit_size(image: np.ndarray, max_dim: int | None, name: str = "image") -> np.ndarray:
    """Downscale so the longer side is at most ``max_dim`` (keeps aspect), logging when it does."""
    if not max_dim:
        return image
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_dim:
        return image
    scale = max_dim / longest
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    log.info("%s: %dx%d downscaled to %dx%d (max_dim=%d)", name, width, height, new_w, new_h, max_dim)
    return np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.LANCZOS))


def load_image(source, max_dim: int | None = None, min_dim: int = 32, name: str | None = None) -> np.ndarray:
    """Load one user image for style transfer: float32 RGB in ``[0, 1]``, shape ``(H, W, 3)``.

    Args:
        source: path, bytes, or an array (uint8 0-255 or float 0-1, HxW or HxWxC).
        max_dim: downscale so the longer side is at most this (with a log message).
        min_dim: refuse images whose shorter side is below this many pixels.
        name: label used in messages.

    Raises:
        ValueError: unreadable input or an image smaller than ``min_dim``.
    """
    if isinstance(source, np.ndarray):
        label = name or "array"
        arr = source
        if arr.ndim == 2:
            arr = np.stack([arr] * 3, axis=-1)
        if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4):
            raise ValueError(f"{label}: expected an HxWx3 image array, got shape {arr.shape}")
        if arr.shape[-1] == 1:
            arr = np.repeat(arr, 3, axis=-1)
        if arr.shape[-1] == 4:
            arr = arr[..., :3]
        if arr.dtype != np.uint8:
            arr = np.clip(np.asarray(arr, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    else:
        label = name or (str(source) if not isinstance(source, bytes | bytearray) else "<bytes>")
        arr = read_image_file(source, label)
    if min(arr.shape[:2]) < min_dim:
        raise ValueError(
            f"{label}: {arr.shape[1]}x{arr.shape[0]} is too small (the shorter side must be at least {min_dim} px)"
        )
    arr = limit_size(arr, max_dim, label)
    return arr.astype(np.float32) / 255.0


def save_image(image, path, quality: int = 95) -> Path:
    """Save an image array (uint8, or float in [0, 1]) atomically as PNG/JPEG by suffix."""
    from stx_tf.viz import to_uint8

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = to_uint8(image)
    tmp = path.with_name(f".{path.name}.partial")
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    Image.fromarray(arr).save(tmp, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    tmp.replace(path)
    return path


def to_signed(image):
    """``[0, 1]`` -> ``[-1, 1]`` (works on NumPy arrays and tensors)."""
    return image * 2.0 - 1.0


def to_unit(image):
    """``[-1, 1]`` -> ``[0, 1]`` (works on NumPy arrays and tensors)."""
    return (image + 1.0) * 0.5


def encode_jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    """Encode uint8 RGB as JPEG bytes (PIL, 4:2:0 like Kaggle's files)."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
