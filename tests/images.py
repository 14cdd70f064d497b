"""Test images the tests make themselves (no files, no network)."""

from __future__ import annotations

import numpy as np


def make_rgb(seed: int, size: int = 256) -> np.ndarray:
    """A deterministic uint8 RGB test image with structure (gradients + blobs)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.stack(
        [
            np.sin(xx * rng.uniform(2, 8) + rng.uniform(0, 6)),
            np.cos(yy * rng.uniform(2, 8) + rng.uniform(0, 6)),
            np.sin((xx + yy) * rng.uniform(2, 8)),
        ],
        axis=-1,
    )
    img = (img * 0.5 + 0.5) * 200 + rng.uniform(0, 55, size=(size, size, 3))
    return np.clip(img, 0, 255).astype(np.uint8)
