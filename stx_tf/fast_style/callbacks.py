"""Callbacks of a fast-style run: a sample grid per epoch and the latest transform net as a ``.keras`` file."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from stx_tf import viz
from stx_tf.fast_style.storage import save_transform


class SampleGrid(keras.callbacks.Callback):
    """Stylise fixed photos at the end of every ``every`` epochs and save ``samples_epoch003.png``.

    The grid has three rows: the painting, the photos, and the photos as the transform net paints them now.

    Args:
        photos: ``(N, H, W, 3)`` float ``[0, 1]`` photos, the same every epoch.
        out_dir: folder for the PNGs.
        style_image: the painting (shown in the first row), ``(H, W, 3)`` ``[0, 1]``.
        every: epochs between grids.
    """

    def __init__(self, photos, out_dir, style_image=None, every: int = 1):
        super().__init__()
        self.photos = np.asarray(photos, np.float32)
        self.out_dir = Path(out_dir)
        self.style_image = style_image
        self.every = max(1, int(every))
        self.paths: list[Path] = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        transform = getattr(self.model, "transform", self.model)
        styled = np.asarray(transform(self.photos, training=False))
        rows = {"photo": list(self.photos), f"epoch {epoch + 1}": list(styled)}
        if self.style_image is not None:
            rows = {"painting": [self.style_image], **rows}
        path = self.out_dir / f"samples_epoch{epoch + 1:03d}.png"
        viz.rows_grid(rows, path=path)
        self.paths.append(path)


class SaveTransform(keras.callbacks.Callback):
    """Save the trainer's transform net (``.keras``, atomically) at every epoch end: a usable checkpoint.

    Args:
        path: the ``.keras`` file.
        info: sidecar information (updated with the epoch and the epoch's logs).
    """

    def __init__(self, path, info: dict | None = None):
        super().__init__()
        self.path = Path(path)
        self.info = dict(info or {})

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        self.info.update(epoch=epoch + 1, logs=logs)
        save_transform(self.model.transform, self.path, self.info)
