"""Pictures people look at: image grids, before/after pairs, loss curves, GIFs.

Every function saves a PNG (atomically) when given ``path`` and returns the matplotlib figure, which
notebooks display inline. Images may be NumPy arrays or tensors, ``uint8`` or float in ``[0, 1]``,
or float in ``[-1, 1]`` when ``signed=True``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

if matplotlib.get_backend().lower() not in ("module://matplotlib_inline.backend_inline", "inline"):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from stx_tf import atomic  # noqa: E402


def to_uint8(image, signed: bool = False) -> np.ndarray:
    """Any image (tensor/array; uint8, [0,1] float, or [-1,1] float with ``signed``) -> uint8 array."""
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        return arr
    arr = arr.astype(np.float32)
    if signed:
        arr = (arr + 1.0) * 0.5
    return np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _save(fig, path) -> None:
    if path is None:
        return
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=fig.dpi, bbox_inches="tight", format="png")


def finish_figure(fig, path=None, show: bool = False):
    """Save ``fig`` as a PNG at ``path`` (atomically) and show it, or close it."""
    _save(fig, path)
    if show:
        plt.show()
    else:
        plt.close(fig)
    return fig


def image_grid(
    images,
    ncols: int | None = None,
    titles: Sequence[str] | None = None,
    path=None,
    signed: bool = False,
    cell: float = 2.2,
    suptitle: str | None = None,
    show: bool = False,
):
    """Lay images out in a grid.

    Args:
        images: sequence or batch ``(N, H, W, 3)`` of images.
        ncols: columns (default: close to square, at most 8).
        titles: optional per-image titles.
        path: save a PNG here.
        signed: images are in ``[-1, 1]``.
        cell: inches per cell.
        suptitle: figure title.
        show: display (notebooks) instead of closing the figure.
    """
    images = [to_uint8(img, signed) for img in images]
    if not images:
        raise ValueError("image_grid: no images to draw")
    n = len(images)
    ncols = ncols or min(8, math.ceil(math.sqrt(n)))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows + (0.4 if suptitle else 0)))
    axes = np.atleast_1d(axes).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < n:
            img = images[i]
            ax.imshow(img.squeeze(), cmap="gray" if img.ndim == 2 or img.shape[-1] == 1 else None)
            if titles is not None and i < len(titles):
                ax.set_title(str(titles[i]), fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return finish_figure(fig, path, show)


def rows_grid(
    rows: Mapping[str, Sequence], path=None, signed: bool = False, cell: float = 2.2, show: bool = False
):
    """A grid whose rows are labelled, e.g. ``{"photo": photos, "Monet-ised": fakes}``."""
    labels = list(rows)
    ncols = max(len(rows[k]) for k in labels)
    fig, axes = plt.subplots(len(labels), ncols, figsize=(cell * ncols, cell * len(labels)), squeeze=False)
    for r, label in enumerate(labels):
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(rows[label]):
                ax.imshow(to_uint8(rows[label][c], signed))
            if c == 0:
                ax.set_ylabel(label, fontsize=10)
    fig.tight_layout()
    return finish_figure(fig, path, show)


def before_after(
    before, after, path=None, labels=("before", "after"), signed: bool = False, show: bool = False
):
    """Two images side by side."""
    return image_grid(
        [before, after], ncols=2, titles=list(labels), path=path, signed=signed, cell=4.0, show=show
    )


def plot_curves(
    history: Mapping[str, Sequence[float]],
    path=None,
    title: str | None = None,
    xlabel: str = "epoch",
    logy: bool = False,
    show: bool = False,
):
    """Plot named series (e.g. a Keras ``History.history``) on one axis."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in history.items():
        values = [float(v) for v in values]
        if values:
            ax.plot(range(1, len(values) + 1), values, label=name, marker="o" if len(values) < 30 else None)
    ax.set_xlabel(xlabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return finish_figure(fig, path, show)


def save_gif(frames, path, duration_ms: int = 200, signed: bool = False) -> Path:
    """Write frames as an animated GIF (atomically) and return its path."""
    from PIL import Image

    frames = [Image.fromarray(to_uint8(f, signed)) for f in frames]
    if not frames:
        raise ValueError("save_gif: no frames")
    with atomic.atomic_path(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    return Path(path)


def histogram(
    values,
    path=None,
    bins: int = 40,
    title: str | None = None,
    xlabel: str | None = None,
    vlines: Mapping[str, float] | None = None,
    show: bool = False,
):
    """Histogram of a 1-D series, with optional labelled vertical lines (e.g. ``{"threshold": 0.1}``)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(values, bins=bins, color="#4477aa", alpha=0.85)
    for i, (label, x) in enumerate((vlines or {}).items()):
        ax.axvline(float(x), color=f"C{i + 1}", linestyle="--", label=f"{label} = {float(x):.3g}")
    if vlines:
        ax.legend()
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return finish_figure(fig, path, show)
