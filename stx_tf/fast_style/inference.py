"""Stylising images with a trained transform net: any size, in batches, in one pass each.

The net pads its input to a multiple of 4 (reflection) and crops its output, so odd sizes work; images
of equal size are stacked into batches, others run on their own. One compiled function with a dynamic
``(None, None, None, 3)`` signature serves every size without retracing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import keras
import numpy as np

from stx_tf import data as sdata
from stx_tf import engine
from stx_tf import precision as precisions
from stx_tf.fast_style.nets import is_transform_net
from stx_tf.fast_style.presets import load_preset
from stx_tf.settings import get_logger

log = get_logger(__name__)


def predictor(model, precision: str = "auto"):
    """A compiled ``(B, H, W, 3) [0, 1] -> (B, H, W, 3) [0, 1]`` function for any ``B, H, W``.

    In float32 the net runs through :func:`stx_tf.engine.predictor` (the same maths in cheaper layers).

    Args:
        model: a transform net, or a preset name / ``.keras`` path.
        precision: ``"auto"`` (:func:`stx_tf.precision.resolve`: bfloat16 on CPUs with native bf16, about
            0.2 of an 8-bit level from float32 on average), ``"float32"``, ``"bfloat16"``, ...
    """
    policy = precisions.resolve(precision)
    model = model if isinstance(model, keras.Model) else load_preset(model)
    if not is_transform_net(model):
        raise ValueError(f"{model.name!r} is not a fast-style transform net")
    # float32: the CPU engine's equal-maths rewrite (stx_tf.engine); bf16 / fp16: a cast copy as it is.
    return engine.predictor(precisions.cast_copy(model, policy, keep=["to_unit", "crop"]))


def _load(item, max_dim: int | None, index: int) -> tuple[str, np.ndarray]:
    if isinstance(item, np.ndarray):
        return f"image{index:04d}", sdata.load_image(item, max_dim=max_dim, name=f"image #{index}")
    return Path(item).stem, sdata.load_image(item, max_dim=max_dim)


def _same_size_runs(items: list[tuple[str, np.ndarray]]):
    """Split consecutive items into runs of equal image shape (stackable into one batch)."""
    run: list[tuple[str, np.ndarray]] = []
    for item in items:
        if run and item[1].shape != run[0][1].shape:
            yield run
            run = []
        run.append(item)
    if run:
        yield run


def stylize_stream(
    model, images: Iterable, batch_size: int = 4, max_dim: int | None = None, precision="auto"
):
    """Yield ``(name, stylised float32 (H, W, 3) in [0, 1])`` for each input, in order.

    Args:
        model: a transform net, a preset name or a ``.keras`` path.
        images: image files (any format :func:`stx_tf.data.load_image` reads) and / or arrays.
        batch_size: images per forward pass (equal sizes are batched together).
        max_dim: downscale larger images so their longer side is at most this (``None``: full size).
        precision: see :func:`predictor`.

    Raises:
        ValueError: an unreadable or too small image (named), or a model of the wrong kind.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    run_model = predictor(model, precision)
    chunk: list[tuple[str, np.ndarray]] = []
    images = list(images)
    for index, item in enumerate(images):
        chunk.append(_load(item, max_dim, index))
        if len(chunk) == batch_size or index == len(images) - 1:
            for run in _same_size_runs(chunk):
                out = np.asarray(run_model(np.stack([img for _, img in run])))
                yield from ((name, styled) for (name, _), styled in zip(run, out))
            chunk = []


def apply(model, images, batch_size: int = 4, max_dim: int | None = None, precision: str = "auto") -> list:
    """Stylise images (files or arrays) and return float32 ``(H, W, 3)`` arrays in ``[0, 1]``, in order."""
    return [styled for _, styled in stylize_stream(model, images, batch_size, max_dim, precision)]


def expand_inputs(inputs) -> list[Path]:
    """Files and folders (their images, sorted) -> a list of image paths."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        files.extend(sdata.list_images(path) if path.is_dir() else [path])
    if not files:
        raise ValueError("no input images given")
    return files


def apply_to_files(
    model,
    inputs,
    out_dir,
    batch_size: int = 4,
    max_dim: int | None = 1024,
    precision: str = "auto",
    fmt: str = "jpg",
    progress: bool = True,
) -> list[Path]:
    """Stylise image files / folders and write ``<out_dir>/<stem>.<fmt>`` (atomically) for each.

    Returns the written paths. Duplicate stems get a ``_2``, ``_3`` ... suffix.
    """
    files = expand_inputs(inputs)
    out_dir = Path(out_dir)
    bar = keras.utils.Progbar(len(files), unit_name="image") if progress else None
    written: list[Path] = []
    seen: dict[str, int] = {}
    for name, styled in stylize_stream(model, files, batch_size, max_dim, precision):
        seen[name] = seen.get(name, 0) + 1
        stem = name if seen[name] == 1 else f"{name}_{seen[name]}"
        written.append(sdata.save_image(styled, out_dir / f"{stem}.{fmt.lstrip('.')}"))
        if bar is not None:
            bar.add(1)
    log.info("%d image(s) written to %s", len(written), out_dir)
    return written
