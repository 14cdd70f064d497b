"""``paint(content, style, strength)``: any photo in the style of any painting, in one pass.

The painting's style vector comes from the prediction network (cached: painting 100 photos with one
painting predicts it once); the transfer network paints the photo with it. Magenta's documented dials
work on the vectors (Ghiasi et al. 2017, https://arxiv.org/abs/1705.06830, section 4):

* **strength** ``s``: ``s · v_painting + (1 - s) · v_photo``, with ``v_photo`` the photo's own style
  vector: 0 gives (nearly) the photo as the network reproduces it, 1 the painting's full style;
* **several paintings**: the weighted mean of their vectors;
* **colour preservation**: the painting's luminance with the photo's chrominance (YIQ,
  :func:`stx_tf.data.imageops.keep_colours`, as Gatys et al. 2016 https://arxiv.org/abs/1606.05897).

Sizes: the network paints the photo with its longer side at ``paint_size`` (384 by default, the side of
the shipped network's input; aspect kept, no padding to a square; ``None``: at the photo's own size), and
the result is resized (Lanczos) back to the photo's size, so the output always has the photo's size.
``paint_size`` is also the brush: the network's strokes have a fixed size in pixels, so a smaller
``paint_size`` gives larger strokes relative to the picture. Sides get a reflected margin of 8 px (the
network's outermost pixels come out as an off-colour stripe) and are padded to the network's multiple (4);
both are cropped away. Pixels stay 8-bit until the network.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from stx_tf.arbitrary.models import StyleNetworks, load_model

#: Longer side the network paints at by default (the shipped network's 384; the alternatives are measured
#: in ``benchmarks/README.md``).
PAINT_SIZE = 384
#: Smallest accepted sides: photo (the network's three strided layers) and painting.
MIN_CONTENT, MIN_STYLE = 16, 4
#: Pixels of reflected picture painted around the photo and cropped away (see :func:`_padded`).
MARGIN = 8


class StyleCache:
    """Style vectors by (model, image), the ``size`` most recent kept (thread-safe).

    ``predictions`` counts the calls of the prediction network (what the cache saves).
    """

    def __init__(self, size: int = 256):
        self.size = size
        self.predictions = 0
        self._vectors: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vector(self, model: StyleNetworks, key, load) -> np.ndarray:
        """The vector of the image ``load()`` returns (uint8 ``(H, W, 3)``), computed once per ``key``."""
        key = (model.name, key)
        with self._lock:
            if key in self._vectors:
                self._vectors.move_to_end(key)
                return self._vectors[key]
        vector = model.style_vector(style_square(load(), model.style_size))
        with self._lock:
            self.predictions += 1
            self._vectors[key] = vector
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return vector

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()


#: The process-wide cache :func:`paint` uses by default.
CACHE = StyleCache()


def style_square(image: np.ndarray, size: int) -> np.ndarray:
    """The centre square of a uint8 ``image`` resized to ``size × size``, float32 in [0, 1] (what the
    prediction network takes)."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return resample(image[top : top + side, left : left + side], size, size).astype(np.float32) / 255.0


def resample(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 ``(H, W, 3)`` resized with Lanczos (PIL)."""
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.LANCZOS, reducing_gap=3.0))


def paint_shape(height: int, width: int, paint_size: int | None) -> tuple[int, int]:
    """The size the network paints a ``height × width`` photo at: the longer side ``paint_size``, the
    photo's aspect, never larger than the photo (``None``: the photo's size)."""
    scale = 1.0 if not paint_size else min(1.0, paint_size / max(height, width))
    return max(MIN_CONTENT, round(height * scale)), max(MIN_CONTENT, round(width * scale))


def _key(source) -> tuple:
    """A cache key for an image source: the file (path, size, modification time) or a digest of the data."""
    if isinstance(source, str | Path):
        if not Path(source).is_file():
            raise ValueError(f"{source}: no such file")
        stat = Path(source).stat()
        return ("file", str(Path(source).resolve()), stat.st_size, stat.st_mtime_ns)
    data = np.ascontiguousarray(source).tobytes() if isinstance(source, np.ndarray) else bytes(source)
    return ("data", hashlib.sha1(data).hexdigest(), getattr(source, "shape", None))


def _load(source, min_dim: int, name: str) -> np.ndarray:
    """uint8 RGB ``(H, W, 3)`` of a path, bytes or array (grey / RGBA / float arrays converted)."""
    from stx_tf.data.images import load_image, read_image_file

    if isinstance(source, np.ndarray):
        image = source if source.dtype == np.uint8 and source.ndim == 3 and source.shape[-1] == 3 else None
        if image is None:
            return np.clip(load_image(source, min_dim=min_dim, name=name) * 255.0 + 0.5, 0, 255).astype(
                np.uint8
            )
    else:
        image = read_image_file(source, None if isinstance(source, str | Path) else name)
    if min(image.shape[:2]) < min_dim:
        label = source if isinstance(source, str | Path) else name
        raise ValueError(
            f"{label}: {image.shape[1]}x{image.shape[0]} is too small (the shorter side must be at least {min_dim} px)"
        )
    return image


def _as_list(style) -> list:
    styles = [style] if isinstance(style, str | Path | bytes | bytearray | np.ndarray) else list(style)
    if not styles:
        raise ValueError("no painting given")
    return styles


def style_vector(style, weights: Sequence[float] | None = None, model=None, cache: StyleCache | None = None):
    """The (weighted mean) style vector of one painting or several (paths, bytes or arrays)."""
    model = load_model(model)
    cache = cache or CACHE
    styles = _as_list(style)
    weights = np.asarray([1.0] * len(styles) if weights is None else weights, np.float64)
    if len(weights) != len(styles) or weights.sum() <= 0 or (weights < 0).any():
        raise ValueError(
            f"weights must be {len(styles)} non-negative numbers with a positive sum, got {list(weights)}"
        )
    vectors = [
        cache.vector(model, _key(s), lambda s=s, i=i: _load(s, MIN_STYLE, f"painting[{i}]"))
        for i, s in enumerate(styles)
    ]
    return np.tensordot(weights / weights.sum(), np.stack(vectors), axes=1).astype(np.float32)


def paint(
    content,
    style,
    strength: float = 1.0,
    *,
    weights: Sequence[float] | None = None,
    preserve_colors: bool = False,
    paint_size: int | None = PAINT_SIZE,
    model=None,
    cache: StyleCache | None = None,
) -> np.ndarray:
    """Paint ``content`` in the style of ``style`` in one pass of Magenta's arbitrary-style networks.

    Args:
        content: the photo: a path, bytes, or an array (uint8, or float in [0, 1]; grey / RGBA become RGB).
        style: one painting or a list of them (same kinds), never seen before is fine.
        strength: 0 = the photo's own style, 1 = the painting's (blended as style vectors).
        weights: relative weights of several paintings (default equal).
        preserve_colors: keep the photo's colours, take the painting's luminance.
        paint_size: longer side the network paints at (``None``: the photo's size); the result is
            resized back to the photo's size either way.
        model: a folder / file of the networks or a loaded :class:`~stx_tf.arbitrary.models.StyleNetworks`
            (default: :func:`~stx_tf.arbitrary.models.find_model`).
        cache: the style-vector cache (default the process-wide :data:`CACHE`).

    Returns:
        float32 ``(H, W, 3)`` in [0, 1], the photo's size.

    Raises:
        ValueError: unreadable or too small image, bad strength / weights, a broken model file;
            :class:`~stx_tf.arbitrary.models.ModelNotFoundError` when no model is found.
    """
    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    net = load_model(model)
    cache = cache or CACHE
    photo = _load(content, MIN_CONTENT, "photo")
    height, width = photo.shape[:2]
    small = resample(photo, *paint_shape(height, width, paint_size)).astype(np.float32) / 255.0
    if not net.splits:  # a SavedModel without reachable vectors: the one-call path
        if strength != 1.0 or len(_as_list(style)) > 1:
            raise ValueError(f"{net.name}: strength and several paintings need the TFLite pair ({strength=})")
        square = style_square(_load(style, MIN_STYLE, "painting"), net.style_size)
        painted = _padded(lambda x: net.stylize(x, square), small, net)
    else:
        vector = style_vector(style, weights, net, cache)
        if strength < 1.0:
            own = cache.vector(net, _key(content), lambda: photo)
            vector = float(strength) * vector + (1.0 - float(strength)) * own
        painted = _padded(lambda x: net.transfer(x, vector), small, net)
    painted = resample((painted * 255.0 + 0.5).astype(np.uint8), height, width).astype(np.float32) / 255.0
    if preserve_colors:
        from stx_tf.data.imageops import keep_colours

        painted = keep_colours(painted, photo.astype(np.float32) / 255.0)
    return painted


def _padded(run, image: np.ndarray, net: StyleNetworks) -> np.ndarray:
    """``run`` on ``image`` reflect-padded by :data:`MARGIN` on every side (the network paints its outermost
    pixels as an off-colour stripe: it falls in the margin) and to multiples of ``net.multiple``, cropped back."""
    height, width = image.shape[:2]
    m = MARGIN
    pad = ((m, m + -(height + 2 * m) % net.multiple), (m, m + -(width + 2 * m) % net.multiple), (0, 0))
    return np.clip(run(np.pad(image, pad, mode="reflect"))[m : m + height, m : m + width], 0.0, 1.0)
