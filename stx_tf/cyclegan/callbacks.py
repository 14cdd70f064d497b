"""Keras callbacks of a CycleGAN run: sample grids, checkpoints + loss curves, the NaN guard and the
time budget."""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import numpy as np

from stx_tf.settings import get_logger
from stx_tf.viz import plot_curves, rows_grid

log = get_logger(__name__)


def finite(logs) -> bool:
    """True when every value in a Keras ``logs`` dict is a finite number."""
    return all(math.isfinite(float(v)) for v in (logs or {}).values())


def sample_path(out_dir, epoch: int) -> Path:
    """The sample grid written after ``epoch`` (1-based)."""
    return Path(out_dir) / "samples" / f"epoch_{epoch:03d}.png"


def translate(generator, images, batch_size: int = 8) -> np.ndarray:
    """Run a generator on a small batch of ``[-1, 1]`` images (inference mode)."""
    return np.asarray(generator.predict(np.asarray(images, np.float32), batch_size=batch_size, verbose=0))


def draw_samples(model, photos, monets, path=None, show: bool = False):
    """Four labelled rows: photos, their Monet translations, paintings, their photo translations."""
    rows = {
        "photo": photos,
        "photo → Monet": translate(model.monet_generator, photos),
        "Monet": monets,
        "Monet → photo": translate(model.photo_generator, monets),
    }
    return rows_grid(rows, path=path, signed=True, show=show)


class SampleGrid(keras.callbacks.Callback):
    """After each epoch, translate the SAME photos and paintings and save the grid as a PNG.

    Args:
        photos, monets: fixed ``[-1, 1]`` images ``(N, H, W, 3)``.
        out_dir: the run folder; grids go to ``samples/epoch_NNN.png``.
        every: epochs between grids.
    """

    def __init__(self, photos, monets, out_dir, every: int = 1):
        super().__init__()
        self.photos, self.monets = np.asarray(photos), np.asarray(monets)
        self.out_dir = Path(out_dir)
        self.every = max(1, int(every))
        self.paths: list[Path] = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or not finite(logs):
            return
        path = sample_path(self.out_dir, epoch + 1)
        draw_samples(self.model, self.photos, self.monets, path=path)
        self.paths.append(path)


class EpochCheckpoint(keras.callbacks.Callback):
    """After each epoch: record the metrics, save a checkpoint and redraw ``loss_curves.png``.

    Args:
        run_checkpoint: a :class:`~stx_tf.cyclegan.checkpoint.RunCheckpoint`.
        config: the run's config (stored with each checkpoint).
        history: metric history of earlier epochs (when resuming).
    """

    def __init__(self, run_checkpoint, config, history: dict | None = None):
        super().__init__()
        self.run_checkpoint = run_checkpoint
        self.config = config
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.last_epoch: int | None = None

    @property
    def curves_path(self) -> Path:
        return self.run_checkpoint.run_dir / "loss_curves.png"

    def on_epoch_end(self, epoch, logs=None):
        if not finite(logs):
            return  # the NaN guard handles it; never checkpoint a broken model
        done = max((len(v) for v in self.history.values()), default=0)
        for key, value in {k: float(v) for k, v in logs.items()}.items():
            # A metric new to a resumed run starts with gaps, so all series stay aligned by epoch.
            self.history.setdefault(key, [math.nan] * done).append(value)
        self.run_checkpoint.save(epoch + 1, self.config, self.history)
        self.last_epoch = epoch + 1
        self.plot()

    def plot(self) -> Path | None:
        if not self.history:
            return None
        plot_curves(self.history, path=self.curves_path, title="CycleGAN losses (epoch means)", logy=True)
        return self.curves_path


class NaNGuard(keras.callbacks.Callback):
    """Stop training as soon as a loss is NaN or infinite and remember where.

    The driver then restores the last good checkpoint (see :func:`stx_tf.cyclegan.train.train`).
    """

    def __init__(self):
        super().__init__()
        self.bad: tuple[int, int, str] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if not finite(logs):
            key = next(k for k, v in logs.items() if not math.isfinite(float(v)))
            self.bad = (self._epoch + 1, batch + 1, key)
            self.model.stop_training = True


class TimeBudget(keras.callbacks.Callback):
    """Stop before ``seconds`` of wall time have passed since ``start``.

    An epoch is only started when the slowest epoch so far would still end in time; an epoch that runs
    over anyway (e.g. the first) stops at the next batch after the deadline. Such a shortened epoch
    still ends with a checkpoint (the newest weights); a resumed run goes on with the next epoch.

    Args:
        seconds: the budget.
        start: ``time.monotonic()`` at the start of the run (default: when training begins).
    """

    def __init__(self, seconds: float, start: float | None = None):
        super().__init__()
        self.seconds = float(seconds)
        self.start = start
        self.slowest_epoch = 0.0
        self.stopped: str | None = None
        self._epoch_start = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def on_train_begin(self, logs=None):
        if self.start is None:
            self.start = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if self.elapsed() >= self.seconds:
            self.stopped = f"time budget of {self.seconds:.0f} s reached during an epoch"
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.slowest_epoch = max(self.slowest_epoch, time.monotonic() - self._epoch_start)
        if not self.stopped and self.elapsed() + self.slowest_epoch > self.seconds:
            self.stopped = (
                f"time budget: {self.elapsed():.0f} s used of {self.seconds:.0f} s, another epoch "
                f"(~{self.slowest_epoch:.0f} s) would not fit"
            )
            self.model.stop_training = True
