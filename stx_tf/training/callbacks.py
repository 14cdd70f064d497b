"""The Keras callbacks of every training run: sample grids, the epoch end (history, checkpoint, curves,
best score), the NaN guard and the time budget. They read only ``logs`` and the model's variables, so they
work under the TensorFlow and the JAX backend alike."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import keras

from stx_tf.settings import get_logger
from stx_tf.training.checkpoint import Checkpointer, NonFiniteStateError
from stx_tf.training.run import RunFolder
from stx_tf.viz import plot_curves

log = get_logger(__name__)

SAMPLES = "samples"


def finite(logs) -> bool:
    """True when every value in a Keras ``logs`` dict is a finite number."""
    return all(math.isfinite(float(v)) for v in (logs or {}).values())


def sample_path(run_dir, epoch: int) -> Path:
    """The sample grid written after ``epoch`` (1-based): ``samples/epoch_NNN.png``."""
    return Path(run_dir) / SAMPLES / f"epoch_{epoch:03d}.png"


class SampleGrid(keras.callbacks.Callback):
    """After every ``every`` epochs, draw the model's work on FIXED inputs into ``samples/epoch_NNN.png``.

    Args:
        render: ``render(model, path, epoch)`` draws and saves the figure (the painter decides what a
            sample is: translated photos, faces from fixed noise, stylised photos).
        run_dir: the run folder.
        every: epochs between grids.
    """

    def __init__(self, render: Callable, run_dir, every: int = 1):
        super().__init__()
        self.render = render
        self.run_dir = Path(run_dir)
        self.every = max(1, int(every))
        self.paths: list[Path] = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or not finite(logs):
            return
        path = sample_path(self.run_dir, epoch + 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.render(self.model, path, epoch + 1)
        self.paths.append(path)


@dataclasses.dataclass(frozen=True)
class Curves:
    """One curves figure of a run: ``file`` (PNG in the run folder), its ``title``, the history ``keys``
    drawn (``None``: all), and a log y axis."""

    file: str = "loss_curves.png"
    title: str = "losses (epoch means)"
    keys: Sequence[str] | None = None
    logy: bool = True


class EpochEnd(keras.callbacks.Callback):
    """After each epoch: record the metrics, checkpoint, keep the best, rewrite ``run.json``, redraw curves.

    A non-finite epoch is never recorded nor checkpointed (the NaN guard stops the run).

    Args:
        run: the :class:`~stx_tf.training.run.RunFolder`.
        checkpointer: the run's :class:`~stx_tf.training.checkpoint.Checkpointer`.
        curves: the figures to redraw.
        best_key: a metric in ``logs`` (lower is better, e.g. ``"mifid"``) whose best epoch is kept in
            ``checkpoints/best`` and ``run.json``; epochs without it are not candidates.
        restart_from_best: after this many scored epochs in a row without a new best, reload the best
            checkpoint (weights, optimiser moments, pools) and go on from there with the current step
            counts, so the learning-rate schedule keeps decaying (0: never).
    """

    def __init__(self, run: RunFolder, checkpointer: Checkpointer, curves: Sequence[Curves] = (Curves(),),
                 best_key: str | None = None, restart_from_best: int = 0):
        super().__init__()
        self.run = run
        self.checkpointer = checkpointer
        self.curves = tuple(curves)
        self.best_key = best_key
        self.restart_from_best = int(restart_from_best)
        self.stale = int(run.saved.get("stale_scorings", 0))
        self.last_epoch: int | None = None
        self.refused: str | None = None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if not finite(logs):
            return
        try:
            self.checkpointer.save(epoch + 1)
        except NonFiniteStateError as err:  # finite losses but broken weights: stop, keep the last good one
            self.refused = str(err)
            log.warning("%s", err)
            self.model.stop_training = True
            return
        self.run.record(epoch + 1, logs)
        value = logs.get(self.best_key) if self.best_key else None
        if value is not None and math.isfinite(float(value)):
            if self.run.best is None or float(value) < self.run.best["score"]:
                self.checkpointer.save(epoch + 1, best=True)
                self.run.best = {"epoch": epoch + 1, "metric": self.best_key, "score": float(value)}
                self.stale = 0
            else:
                self.stale += 1
        restarts = list(self.run.saved.get("restarts", []))
        if self.restart_from_best and self.stale >= self.restart_from_best:
            self.checkpointer.restore(self.checkpointer.best_dir, keep_step_counts=True)
            log.info("restarted from the best epoch %d (%s %.4f) after %d scorings without improvement",
                     self.run.best["epoch"], self.best_key, self.run.best["score"], self.stale)
            restarts.append({"after_epoch": epoch + 1, "from_epoch": self.run.best["epoch"]})
            self.stale = 0
        self.run.write(stale_scorings=self.stale, restarts=restarts)
        self.last_epoch = epoch + 1
        self.plot()

    def plot(self) -> list[Path]:
        """Redraw every curves figure from the history so far; return their paths."""
        paths = []
        for spec in self.curves:
            keys = spec.keys if spec.keys is not None else list(self.run.history)
            series = {k: self.run.history[k] for k in keys if self.run.history.get(k)}
            if series:
                path = self.run.path / spec.file
                plot_curves(series, path=path, title=spec.title, logy=spec.logy)
                paths.append(path)
        return paths


class NaNGuard(keras.callbacks.Callback):
    """Stop training as soon as a loss is NaN or infinite and remember where (``bad``).

    :func:`stx_tf.training.fit_run` then restores the last good checkpoint.
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
