"""Figures of Gatys style transfer (the paper's content-weight sweep, the effect of more epochs) and the
demo images the notebooks use."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from keras import ops

from stx_tf.nst.config import StylizeConfig
from stx_tf.nst.procedure import _load, stylize


def content_weight_sweep(
    content,
    style,
    content_weights: Sequence[float] = (1e-5, 1e-4, 1e-3, 1e-2),
    config: StylizeConfig | None = None,
    path=None,
    show: bool = False,
    verbose: int = 0,
    **overrides,
) -> list[np.ndarray]:
    """The paper's Figure 3: the same transfer with content weights ``λ`` side by side.

    Small ``λ`` gives mostly texture of the painting; large ``λ`` keeps the photo. Every run starts from
    the same initial image. Saves a PNG grid to ``path`` (via :func:`stx_tf.viz.image_grid`) when given.

    Returns:
        The stylised images (float32 ``(H, W, 3)`` in [0, 1]), one per weight.
    """
    from stx_tf import viz

    images = [
        stylize(content, style, config, content_weight=w, verbose=verbose, **overrides).image
        for w in content_weights
    ]
    titles = [f"λ = {w:.0e}" for w in content_weights]
    viz.image_grid(
        images, ncols=len(images), titles=titles, path=path, show=show, suptitle="content weight λ"
    )
    return images


def epochs_sweep(
    content,
    style,
    epoch_counts: Sequence[int] = (10, 20, 30, 40, 50),
    config: StylizeConfig | None = None,
    path=None,
    show: bool = False,
    verbose: int = 0,
    **overrides,
) -> list[np.ndarray]:
    """The effect of longer optimisation: the image after each of ``epoch_counts`` epochs.

    Runs ``max(epoch_counts)`` epochs once (keeping every epoch's frame) and picks the frames; saves a PNG grid to ``path`` when given.

    Returns:
        The images after those epochs (uint8 ``(H, W, 3)``).
    """
    from stx_tf import viz

    wanted = sorted(set(int(e) for e in epoch_counts))
    if not wanted or wanted[0] < 1:
        raise ValueError(f"epoch_counts must be positive integers, got {list(epoch_counts)}")
    result = stylize(content, style, config, verbose=verbose, **{**overrides, "epochs": wanted[-1]})
    images = [result.frames[e - 1] for e in wanted]
    titles = [f"{e} epochs" for e in wanted]
    viz.image_grid(images, ncols=len(images), titles=titles, path=path, show=show, suptitle="epochs")
    return images


def demo_images(content=None, style=None, data=None, max_dim: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """A content photo and a style painting for demos and notebooks, available everywhere.

    ``content`` / ``style`` given (path, bytes, array) are loaded as they are. Otherwise the first photo and
    the first Monet of the competition data are used (:func:`stx_tf.data.find_competition_data`: the
    Kaggle input, ``STX_DATA_DIR``, or the embedded synthetic sample as a last resort).

    Returns:
        ``(content, style)`` float32 ``(H, W, 3)`` images in [0, 1].
    """

    from stx_tf.data import find_competition_data, load_images, to_unit

    data = data or (find_competition_data() if content is None or style is None else None)

    def first(source) -> np.ndarray:
        for image in load_images(source, size=max_dim).take(1):
            return np.clip(ops.convert_to_numpy(to_unit(image)), 0.0, 1.0).astype(np.float32)
        raise ValueError(f"{source}: no images")

    content_img = _load(content, max_dim, "content") if content is not None else first(data.photo)
    style_img = _load(style, max_dim, "style") if style is not None else first(data.monet)
    return content_img, style_img
