"""Memorisation-informed FID (MiFID), as scored by Kaggle's "I'm Something of a Painter Myself".

Kaggle's scorer (Bai et al. 2021, "On Training Sample Memorization", https://arxiv.org/abs/2106.03216):

* rows of the feature matrices whose entries sum to zero are dropped (on each side), the rest are
  L2-normalised (``nan_to_num`` of ``x / ||x||``);
* ``d = mean over generated images of min over real images of (1 - |cos|)``, the *memorisation distance*;
* ``d_thr = d if d < 0.1 else 1``: only a generated set that sits very close to the real one is penalised;
* ``MiFID = FID / (d_thr + 1e-14)``.

The pairwise distances are computed in chunks of generated rows so memory stays bounded for
7,000 × 7,000 comparisons.
"""

from __future__ import annotations

import numpy as np

#: Memorisation distances below this are penalised (Kaggle's ``cosine_distance_eps``).
MEMORISATION_THRESHOLD = 0.1

#: Kaggle's ``fid_epsilon`` in the MiFID denominator.
MIFID_EPSILON = 1e-14

_CHUNK_ROWS = 1024


def nonzero_rows(features: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows Kaggle keeps: those whose entries do not sum to zero."""
    return np.sum(features, axis=1) != 0


def normalize_rows(features: np.ndarray) -> np.ndarray:
    """Each row divided by its L2 norm (``nan_to_num`` for all-zero rows), like the reference."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(features / np.linalg.norm(features, ord=2, axis=1, keepdims=True))


def nearest_real(generated: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per generated image, the smallest ``1 - |cos|`` to any real image and which real image it is.

    Args:
        generated: ``(N, D)`` generated-image features (raw, not normalised).
        real: ``(M, D)`` real-image features (raw).

    Returns:
        ``(distances, nearest, kept)``: ``distances`` and ``nearest`` (an index into ``real``) for the
        generated rows that are kept, and ``kept`` - the indices of those rows into ``generated``.

    Raises:
        ValueError: a side has no usable (non-zero-sum) feature rows, or the dimensions differ.
    """
    generated, real = np.asarray(generated, np.float64), np.asarray(real, np.float64)
    if generated.ndim != 2 or real.ndim != 2 or generated.shape[1] != real.shape[1]:
        raise ValueError(f"feature shapes do not match: generated {generated.shape}, real {real.shape}")
    kept = np.flatnonzero(nonzero_rows(generated))
    real_kept = np.flatnonzero(nonzero_rows(real))
    if kept.size == 0 or real_kept.size == 0:
        raise ValueError("memorisation distance: every feature row of a side sums to zero")
    gen_n, real_n = normalize_rows(generated[kept]), normalize_rows(real[real_kept])
    distances = np.empty(kept.size)
    nearest = np.empty(kept.size, dtype=np.int64)
    for start in range(0, kept.size, _CHUNK_ROWS):
        block = 1.0 - np.abs(gen_n[start : start + _CHUNK_ROWS] @ real_n.T)
        arg = np.argmin(block, axis=1)
        distances[start : start + block.shape[0]] = block[np.arange(block.shape[0]), arg]
        nearest[start : start + block.shape[0]] = real_kept[arg]
    return distances, nearest, kept


def memorisation_distance(generated: np.ndarray, real: np.ndarray) -> float:
    """Kaggle's ``cosine_distance``: mean over generated of the min over real of ``1 - |cos|``."""
    return float(np.mean(nearest_real(generated, real)[0]))


def threshold_distance(distance: float, threshold: float = MEMORISATION_THRESHOLD) -> float:
    """``d`` if ``d < threshold`` else ``1`` (Kaggle's ``distance_thresholding``)."""
    return float(distance) if distance < threshold else 1.0


def mifid(fid: float, distance: float, threshold: float = MEMORISATION_THRESHOLD) -> float:
    """``FID / (d_thr + 1e-14)``: FID unchanged unless the set memorises the real images."""
    return float(fid) / (threshold_distance(distance, threshold) + MIFID_EPSILON)
