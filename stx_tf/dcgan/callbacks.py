"""Keras callbacks of a DCGAN run: a fixed-noise grid, a checkpoint and the curves after every epoch."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from stx_tf.dcgan.checkpoint import save_checkpoint
from stx_tf.dcgan.sample import generate
from stx_tf.viz import image_grid, plot_curves

#: History keys drawn on each curves figure.
LOSS_KEYS = ("d_loss", "g_loss")
ACCURACY_KEYS = ("d_acc_real", "d_acc_fake")


def grid_path(out_dir, epoch: int) -> Path:
    """The fixed-noise grid written after ``epoch`` (1-based)."""
    return Path(out_dir) / "grids" / f"epoch_{epoch:03d}.png"


class SampleGrid(keras.callbacks.Callback):
    """After every ``every`` epochs, draw the generator's images for the SAME latent vectors.

    Watching one fixed noise batch across epochs shows faces emerging from blobs.

    Args:
        noise: latent vectors ``(N, latent_dim)`` (keep them fixed for the whole run).
        out_dir: the run folder; grids go to ``grids/epoch_NNN.png``.
        every: epochs between grids.
    """

    def __init__(self, noise, out_dir, every: int = 1):
        super().__init__()
        self.noise = np.asarray(noise, np.float32)
        self.out_dir = Path(out_dir)
        self.every = max(1, int(every))
        self.paths: list[Path] = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        images = generate(self.model.generator, self.noise)
        path = grid_path(self.out_dir, epoch + 1)
        ncols = int(np.ceil(np.sqrt(len(images))))
        image_grid(images, ncols=ncols, path=path, cell=0.9, suptitle=f"epoch {epoch + 1}")
        self.paths.append(path)


class EpochCheckpoint(keras.callbacks.Callback):
    """Save a checkpoint and redraw the loss / accuracy curves after every epoch.

    Keeps the run's whole history (including epochs before a resume) and stores it in each
    checkpoint's ``state.json``.

    Args:
        out_dir: the run folder.
        state: JSON-able run metadata (architecture, config) stored with each checkpoint.
        history: metric history of earlier epochs (from the checkpoint a run resumes).
        keep: checkpoints kept (the newest).
    """

    def __init__(self, out_dir, state: dict, history: dict | None = None, keep: int | None = 2):
        super().__init__()
        self.out_dir = Path(out_dir)
        self.state = dict(state)
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.keep = keep
        self.last: Path | None = None

    @property
    def loss_curves(self) -> Path:
        return self.out_dir / "loss_curves.png"

    @property
    def accuracy_curves(self) -> Path:
        return self.out_dir / "accuracy_curves.png"

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.last = save_checkpoint(
            self.model, self.out_dir, epoch + 1, {**self.state, "history": self.history}, keep=self.keep
        )
        self.plot()

    def plot(self) -> None:
        """Write ``loss_curves.png`` and ``accuracy_curves.png`` from the history so far."""
        for keys, path, title in (
            (LOSS_KEYS, self.loss_curves, "DCGAN losses"),
            (ACCURACY_KEYS, self.accuracy_curves, "discriminator accuracy"),
        ):
            series = {k: self.history[k] for k in keys if self.history.get(k)}
            if series:
                plot_curves(series, path=path, title=title)
