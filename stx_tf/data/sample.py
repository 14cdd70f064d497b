"""The embedded sample: a small synthetic data set in the competition's exact layout.

Made on first use (a few seconds) and cached under ``stx_tf.settings.cache_dir()``: procedurally drawn
landscapes. "Photos" are crisp (hard edges, saturated, fine noise); "paintings" are the same kind of
scenes rendered Monet-like (pastel palette, soft light, visible short brush strokes). It needs no download
and no Kaggle credentials, so the quick start, the notebooks' smoke mode and the tests can all run the
full photo → painting job anywhere. It is not art: it is a stand-in with a learnable domain gap.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from stx_tf.settings import cache_dir, get_logger

log = get_logger(__name__)

SAMPLE_VERSION = 1
N_MONET, N_PHOTO = 60, 120
SIZE = 256


def _scene(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """A random landscape: sky gradient, sun, hills, water, a few buildings. float RGB in [0, 1]."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    horizon = rng.uniform(0.35, 0.6)
    sky_top = rng.uniform([0.1, 0.3, 0.6], [0.4, 0.6, 1.0])
    sky_low = rng.uniform([0.7, 0.6, 0.5], [1.0, 0.9, 0.9])
    t = np.clip(yy / horizon, 0, 1)[..., None]
    img = sky_top * (1 - t) + sky_low * t
    sun_x, sun_y, sun_r = rng.uniform(0.1, 0.9), rng.uniform(0.05, horizon * 0.7), rng.uniform(0.04, 0.09)
    sun = np.exp(-(((xx - sun_x) ** 2 + (yy - sun_y) ** 2) / (2 * sun_r**2)))[..., None]
    img = img * (1 - sun) + np.array([1.0, 0.95, 0.7]) * sun
    for layer in range(rng.integers(2, 4)):
        base = horizon + 0.08 * layer
        ridge = base - 0.12 * np.abs(np.sin(xx[0] * rng.uniform(3, 9) + rng.uniform(0, 6))) * rng.uniform(
            0.3, 1
        )
        green = rng.uniform([0.1, 0.3, 0.05], [0.4, 0.6, 0.25]) * (0.8 + 0.2 * layer)
        mask = (yy > ridge[None, :]).astype(np.float32)[..., None]
        shade = (1 - 0.4 * (yy - base).clip(0, 1))[..., None]
        img = img * (1 - mask) + green * shade * mask
    if rng.random() < 0.6:  # water reflecting the sky
        water = rng.uniform(0.72, 0.85)
        mask = (yy > water)[..., None]
        reflect = img[::-1][: size - int(water * size)]
        ripple = 0.9 + 0.1 * np.sin(yy * 120 + xx * 7)[..., None]
        img = np.where(mask, np.concatenate([img[: int(water * size)], reflect * 0.8], 0) * ripple, img)
    for _ in range(rng.integers(0, 4)):  # buildings: hard-edged blocks
        x0, w = rng.uniform(0, 0.85), rng.uniform(0.04, 0.12)
        h = rng.uniform(0.08, 0.25)
        y1 = horizon + rng.uniform(0.0, 0.1)
        block = (xx > x0) & (xx < x0 + w) & (yy > y1 - h) & (yy < y1)
        img[block] = rng.uniform([0.4, 0.2, 0.1], [0.9, 0.8, 0.7])
    return np.clip(img, 0, 1)


def _photo(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    contrast = np.clip((scene - 0.5) * 1.25 + 0.5 + rng.normal(0, 0.03, scene.shape), 0, 1)
    return (contrast * 255).astype(np.uint8)


def _painting(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = scene.shape[0]
    lilac = np.array([0.75, 0.7, 0.9])
    pastel = np.clip(scene * 0.65 + lilac * 0.3 + 0.05, 0, 1)
    base = Image.fromarray((pastel * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(3))
    canvas = base.copy()
    draw = ImageDraw.Draw(canvas)
    src = np.asarray(base)
    for _ in range(1400):
        x, y = rng.integers(0, size, 2)
        colour = np.clip(src[y, x].astype(int) + rng.integers(-28, 29, 3), 0, 255)
        angle = rng.normal(0.2, 0.5)
        length = rng.uniform(3, 9)
        dx, dy = np.cos(angle) * length, np.sin(angle) * length
        draw.line(
            [(x - dx, y - dy), (x + dx, y + dy)],
            fill=tuple(int(c) for c in colour),
            width=int(rng.integers(2, 5)),
        )
    return np.asarray(canvas.filter(ImageFilter.SMOOTH))


def _write(root: Path, seed: int) -> None:
    from stx_tf.data.tfrecords import write_tfrecords

    rng = np.random.default_rng(seed)
    for domain, count in (("monet", N_MONET), ("photo", N_PHOTO)):
        folder = root / f"{domain}_jpg"
        folder.mkdir(parents=True)
        for _ in range(count):
            scene = _scene(rng)
            image = _painting(scene, rng) if domain == "monet" else _photo(scene, rng)
            name = "".join(rng.choice(list("0123456789abcdef"), 10))
            Image.fromarray(image).save(folder / f"{name}.jpg", quality=92)
        write_tfrecords(
            folder, root / f"{domain}_tfrec", prefix=domain, n_shards=4 if domain == "monet" else 6
        )


def embedded_sample(root=None, seed: int = 0) -> Path:
    """The embedded sample's folder, made on first use.

    Layout (like Kaggle's ``gan-getting-started``): ``monet_tfrec/monet00-15.tfrec`` …,
    ``photo_tfrec/photo00-20.tfrec`` …, ``monet_jpg/*.jpg`` (60), ``photo_jpg/*.jpg`` (120), 256×256 RGB.

    Args:
        root: where to put it (default ``<cache_dir>/sample-v1``).
        seed: random seed of the drawings.
    """
    root = Path(root) if root else cache_dir() / f"sample-v{SAMPLE_VERSION}"
    if (root / "photo_tfrec").is_dir() and (root / "monet_tfrec").is_dir():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".sample-", dir=root.parent))
    try:
        log.info("making the embedded sample (%d paintings, %d photos) in %s", N_MONET, N_PHOTO, root)
        _write(tmp, seed)
        if not (root / "photo_tfrec").is_dir():  # another process may have finished first
            if root.exists():
                shutil.rmtree(root)
            tmp.replace(root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root
