"""Where the faces come from: a user folder, the Kaggle anime-face dataset, or synthetic cartoon faces.

The synthetic faces are drawn with NumPy (a skin-toned head, hair, two eyes, a mouth, random colours and
positions). They are **synthetic**: a stand-in so that smoke runs and demos work offline, not a data set
to judge a GAN by.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stx_tf.data.images import IMAGE_SUFFIXES, save_image
from stx_tf.settings import cache_dir, get_logger, on_kaggle

log = get_logger(__name__)

#: Usual mount points of the Kaggle "Anime Face Dataset" (splcher/animefacedataset) and copies of it.
KAGGLE_FACE_DIRS = (
    "/kaggle/input/animefacedataset/images",
    "/kaggle/input/anime-face-dataset/images",
    "/kaggle/input/anime-faces/data",
    "/kaggle/input/anime-faces",
)


@dataclass(frozen=True)
class Faces:
    """A face source: ``source`` for :func:`stx_tf.data.load_images` and a human ``origin`` label."""

    source: Path
    origin: str
    synthetic: bool = False


def _ellipse(yy, xx, cy, cx, ry, rx):
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def _draw_face(rng: np.random.Generator, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.empty((size, size, 3), np.float32)
    img[:] = rng.uniform(0.3, 1.0, 3)  # background
    img += (yy[..., None] - 0.5) * rng.uniform(-0.3, 0.3, 3)  # soft gradient
    cx, cy = 0.5 + rng.uniform(-0.05, 0.05), 0.55 + rng.uniform(-0.05, 0.05)
    ry, rx = rng.uniform(0.28, 0.36), rng.uniform(0.24, 0.3)
    hair = rng.uniform(0.0, 0.9, 3)
    img[_ellipse(yy, xx, cy - 0.08, cx, ry + 0.06, rx + 0.06) & (yy < cy + 0.1)] = hair  # hair behind
    skin = np.array([1.0, 0.85, 0.72]) * rng.uniform(0.75, 1.0)
    img[_ellipse(yy, xx, cy, cx, ry, rx)] = skin  # head
    img[_ellipse(yy, xx, cy - ry * 0.85, cx, ry * 0.45, rx * 1.05)] = hair  # fringe
    iris = rng.uniform(0.0, 0.8, 3)
    for side in (-1, 1):
        ex, ey = cx + side * rx * 0.45, cy + ry * 0.05
        img[_ellipse(yy, xx, ey, ex, ry * 0.2, rx * 0.22)] = 1.0  # white of the eye
        img[_ellipse(yy, xx, ey + ry * 0.03, ex, ry * 0.15, rx * 0.13)] = iris
        img[_ellipse(yy, xx, ey, ex + rx * 0.04, ry * 0.05, rx * 0.05)] = 1.0  # highlight
    mouth = _ellipse(yy, xx, cy + ry * 0.55, cx, ry * 0.07, rx * rng.uniform(0.12, 0.3))
    img[mouth] = (0.7, 0.2, 0.25)
    img += rng.normal(0, 0.02, img.shape)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def synthetic_faces(n: int, size: int = 64, seed: int = 0) -> np.ndarray:
    """``n`` SYNTHETIC cartoon faces drawn with NumPy, uint8 ``(n, size, size, 3)`` (reproducible)."""
    rng = np.random.default_rng(seed)
    return np.stack([_draw_face(rng, size) for _ in range(int(n))])


def write_synthetic_faces(folder=None, n: int = 256, size: int = 64, seed: int = 0) -> Path:
    """Write synthetic faces as PNGs to ``folder`` (default: the cache) once, and return the folder."""
    folder = Path(folder) if folder else cache_dir() / f"synthetic_faces_{n}_{size}_{seed}"
    if len([p for p in folder.glob("face_*.png")]) >= n:
        return folder
    for i, face in enumerate(synthetic_faces(n, size, seed)):
        save_image(face, folder / f"face_{i:05d}.png")
    return folder


def _has_images(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir())


def find_faces(user_dir=None, synthetic_n: int = 256, kaggle_dirs=KAGGLE_FACE_DIRS) -> Faces:
    """Pick the face images to train on.

    Order: ``user_dir`` (a folder, zip or TFRecords of faces) if given; on Kaggle, an attached anime-face
    dataset; otherwise ``synthetic_n`` synthetic cartoon faces (with a warning).

    Raises:
        ValueError: ``user_dir`` is given but does not exist.
    """
    if user_dir:
        path = Path(user_dir).expanduser()
        if not path.exists():
            raise ValueError(f"{path}: no such folder of face images")
        return Faces(path, f"user folder {path}")
    if on_kaggle():
        for candidate in map(Path, kaggle_dirs):
            if _has_images(candidate):
                return Faces(candidate, f"Kaggle input {candidate}")
    log.warning(
        "no face images given: using %d SYNTHETIC cartoon faces (a stand-in, not real data)", synthetic_n
    )
    return Faces(
        write_synthetic_faces(n=synthetic_n), f"{synthetic_n} synthetic cartoon faces", synthetic=True
    )
