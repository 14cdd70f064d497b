"""Fréchet Inception Distance, computed exactly as Kaggle's MiFID scorer does.

Kaggle's scorer for "I'm Something of a Painter Myself" follows the classic TTUR code
(Heusel et al. 2017, https://arxiv.org/abs/1706.08500) that ``pytorch-fid`` also copies:

* statistics are the mean and the (unbiased, ``N - 1``) covariance of the pool features, in float64;
* ``sqrtm(sigma1 @ sigma2)`` via :func:`scipy.linalg.sqrtm`; when the product is singular and the
  root has non-finite entries, ``1e-6`` is added to both diagonals and the root recomputed;
* a tiny imaginary part (numerical noise) is dropped when the diagonal's imaginary part is within
  ``1e-3`` of zero.

One deliberate difference, so that near-singular covariances never surface as NaN or complex numbers:
where the reference raises on a large imaginary component, we first retry with the ``1e-6`` diagonal
offset and only raise (a clear :class:`ValueError`) if that fails too. A real-valued FID is then always
returned.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

#: Offset added to the covariance diagonals when their product is singular (TTUR / Kaggle).
DIAGONAL_EPS = 1e-6

#: Largest imaginary part tolerated on the diagonal of ``sqrtm`` before it is considered an error.
IMAG_TOLERANCE = 1e-3


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``(N, D)`` features, float64 (``np.cov(rowvar=False)``, like the reference).

    Raises:
        ValueError: fewer than 2 feature rows (the covariance is undefined).
    """
    act = np.asarray(features, dtype=np.float64)
    if act.ndim != 2 or act.shape[0] < 2:
        raise ValueError(f"FID needs at least 2 feature vectors of shape (N, D); got shape {act.shape}")
    return act.mean(axis=0), np.cov(act, rowvar=False)


def _sqrtm_real(product: np.ndarray) -> np.ndarray | None:
    """Real matrix square root of ``product``, or ``None`` if it is non-finite / too complex."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on singular input; we check the result ourselves
        covmean = linalg.sqrtm(product)
    if not np.isfinite(covmean).all():
        return None
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=IMAG_TOLERANCE):
            return None
        covmean = covmean.real
    return covmean


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = DIAGONAL_EPS) -> float:
    """Fréchet distance between the Gaussians ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    ``d² = |mu1 - mu2|² + Tr(sigma1 + sigma2 - 2 sqrt(sigma1 sigma2))``

    Args:
        mu1, mu2: mean feature vectors ``(D,)``.
        sigma1, sigma2: covariance matrices ``(D, D)``.
        eps: diagonal offset used when the product is singular.

    Returns:
        The distance as a Python float (always real and finite).

    Raises:
        ValueError: mismatched shapes, non-finite statistics, or a square root that stays complex
            even with the diagonal offset.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"FID statistics do not match: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}"
        )
    for name, arr in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.isfinite(arr).all():
            raise ValueError(f"FID statistics contain NaN or inf ({name}); check the extracted features")
    diff = mu1 - mu2
    covmean = _sqrtm_real(sigma1.dot(sigma2))
    if covmean is None:
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm_real((sigma1 + offset).dot(sigma2 + offset))
    if covmean is None:
        raise ValueError(
            "FID: the matrix square root of the covariance product stays complex or non-finite even with "
            f"a {eps:g} diagonal offset; use more images or a feature extractor with fewer dimensions"
        )
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid_from_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """FID between two ``(N, D)`` feature sets."""
    return frechet_distance(*feature_stats(features1), *feature_stats(features2))
