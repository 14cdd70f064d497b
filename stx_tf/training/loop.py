"""``fit_run``: the run skeleton every painter trains with (resume, checkpoints, guards, grids, curves).

A painter builds its compiled Keras model and its ``tf.data`` input, names the items a checkpoint must
hold, says how to draw a sample grid, and calls :func:`fit_run`. The skeleton

1. restores the newest checkpoint when the :class:`~stx_tf.training.run.RunFolder` continues a run
   (weights, optimiser states, pools, epoch; the history is cut to the checkpoint's epoch);
2. runs ``model.fit`` from that epoch with the NaN guard, the epoch end (history, checkpoint that is
   never non-finite, best score, ``run.json``, curves), the sample grid and the time budget;
3. after a NaN, restores the last good checkpoint and says so in ``RunResult.stopped``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stx_tf.configs import parse_duration  # noqa: F401 - re-exported
from stx_tf.settings import get_logger
from stx_tf.training.callbacks import Curves, EpochEnd, NaNGuard, SampleGrid, TimeBudget
from stx_tf.training.checkpoint import Checkpointer
from stx_tf.training.run import RunFolder

log = get_logger(__name__)

def execution_steps(requested: int, steps_per_epoch: int, replicas: int = 1, tpu: bool = False) -> int:
    """The ``steps_per_execution`` to compile with: the largest divisor of ``steps_per_epoch`` that is at
    most ``requested``, so every epoch keeps its exact length.

    Under a multi-replica ``tf.distribute`` strategy other than TPU (``MirroredStrategy``, multi-worker)
    it is 1: Keras 3's multi-step loop fails there ("must feed a value for placeholder tensor", seen with
    Keras 3.15 / TensorFlow 2.21).

    Args:
        requested: the configured steps per compiled call.
        steps_per_epoch: steps in one epoch.
        replicas: replicas in sync.
        tpu: whether the strategy is a TPU strategy.
    """
    if replicas > 1 and not tpu:
        return 1
    requested = max(1, min(int(requested), int(steps_per_epoch)))
    return next(k for k in range(requested, 0, -1) if steps_per_epoch % k == 0)


@dataclass
class RunResult:
    """What one :func:`fit_run` call produced.

    Attributes:
        run_dir: the run folder.
        history: metric means per epoch over the whole run (resumed epochs included).
        initial_epoch: the epoch this call started from (0, or the resumed checkpoint's).
        epochs_done: epochs completed and checkpointed so far.
        stopped: why training stopped early (time budget, NaN), or ``None``.
        samples: sample-grid PNGs written by this call.
        curves: the curves PNGs.
        checkpoint: the newest good checkpoint folder.
        best: ``{"epoch", "metric", "score"}`` of the best epoch, if a best key was given and scored.
        seconds: wall time of this call.
    """

    run_dir: Path
    history: dict
    initial_epoch: int
    epochs_done: int
    stopped: str | None = None
    samples: list = field(default_factory=list)
    curves: list = field(default_factory=list)
    checkpoint: Path | None = None
    best: dict | None = None
    seconds: float = 0.0
    diverged: bool = False

    @property
    def broken(self) -> bool:
        """True when training diverged before any good checkpoint existed (the weights are unusable)."""
        return self.diverged and self.checkpoint is None


def _restore(run: RunFolder, checkpointer: Checkpointer) -> int:
    if not run.resuming or checkpointer.latest is None:
        if run.resuming:
            log.info("%s: no checkpoint yet; starting from epoch 0", run.path)
            run.history.clear()
        return 0
    epoch = checkpointer.restore()
    for key, series in run.history.items():  # the history must end where the checkpoint does
        run.history[key] = (series + [math.nan] * epoch)[:epoch]
    run.epoch = epoch
    log.info("resumed %s at epoch %d", run.path, epoch)
    return epoch


class RunShortcuts:
    """A painter's train result (a dataclass with a ``run``: :class:`RunResult` field) reads the run's
    folder, history, epochs, stop reason, time and pictures through these shortcuts (used by the notebooks
    and the CLI), the same for every painter."""

    run: RunResult

    @property
    def out_dir(self) -> Path:
        return self.run.run_dir

    @property
    def run_dir(self) -> Path:
        return self.run.run_dir

    @property
    def history(self) -> dict:
        return self.run.history

    @property
    def epochs_done(self) -> int:
        return self.run.epochs_done

    @property
    def stopped(self) -> str | None:
        return self.run.stopped

    @property
    def seconds(self) -> float:
        return self.run.seconds

    @property
    def samples(self) -> list:
        """The per-epoch sample grids written by this call (``samples/epoch_NNN.png``)."""
        return self.run.samples

    @property
    def curves(self) -> list:
        """The curves PNGs (``loss_curves.png`` and the painter's others)."""
        return self.run.curves

    @property
    def best(self) -> dict | None:
        return self.run.best


def fit_run(
    model,
    data,
    *,
    run: RunFolder,
    items: Mapping[str, object],
    epochs: int,
    steps_per_epoch: int | None = None,
    render: Callable | None = None,
    curves: Sequence[Curves] = (Curves(),),
    best_key: str | None = None,
    restart_from_best: int = 0,
    time_budget: float | None = None,
    start: float | None = None,
    keep: int | None = 2,
    callbacks: Sequence = (),
    verbose="auto",
) -> RunResult:
    """Train ``model`` on ``data`` for the epochs the run still needs, with the run's callbacks.

    Args:
        model: a compiled Keras model (any backend).
        data: the training input for ``model.fit`` (a ``tf.data.Dataset`` of one epoch, or repeating
            with ``steps_per_epoch``).
        run: the opened run folder (it decides whether this continues a run).
        items: what a checkpoint holds (see :class:`~stx_tf.training.checkpoint.Checkpointer`).
        epochs: total epochs of the run (a resumed run continues up to this number).
        steps_per_epoch: steps per epoch when ``data`` repeats.
        render: ``render(model, path, epoch)`` draws the per-epoch sample grid (``None``: no grid).
        curves: the curves figures redrawn after every epoch.
        best_key: a metric (lower is better) whose best epoch is kept as ``checkpoints/best``.
        restart_from_best: reload the best checkpoint after this many scorings without improvement
            (see :class:`~stx_tf.training.callbacks.EpochEnd`; 0: never).
        time_budget: seconds of wall time (from ``start``) after which training stops.
        start: ``time.monotonic()`` when the run started (default: now).
        keep: epoch checkpoints kept.
        callbacks: extra Keras callbacks (they run after the skeleton's).
        verbose: ``fit`` verbosity (progress bar with ETA by default).
    """
    start = time.monotonic() if start is None else start
    checkpointer = Checkpointer(run.path, items, keep=keep)
    initial_epoch = _restore(run, checkpointer)
    guard = NaNGuard()
    end = EpochEnd(run, checkpointer, curves, best_key=best_key, restart_from_best=restart_from_best)
    run_callbacks = [guard, *callbacks, end]
    grid = SampleGrid(render, run.path) if render is not None else None
    if grid is not None:
        run_callbacks.append(grid)
    budget = TimeBudget(time_budget, start=start) if time_budget else None
    if budget is not None:
        run_callbacks.append(budget)
    if initial_epoch >= epochs:
        log.info("%s: all %d epochs already done", run.path, epochs)
    else:
        model.fit(
            data,
            epochs=epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=run_callbacks,
            shuffle=False,  # the input pipeline shuffles
            verbose=verbose,
        )
    stopped = budget.stopped if budget else None
    bad = guard.bad or end.refused
    if bad:
        good = checkpointer.latest
        where = f"restored the last good checkpoint {good}" if good else "no good checkpoint yet: weights are unusable"
        what = f"non-finite {guard.bad[2]} at epoch {guard.bad[0]}, step {guard.bad[1]}" if guard.bad else end.refused
        stopped = f"{what}: stopped; {where}"
        if good:
            checkpointer.restore(good)
        log.warning("NaN guard: %s", stopped)
    elif stopped:
        log.warning("stopped early: %s", stopped)
    return RunResult(
        run_dir=run.path,
        history=run.history,
        initial_epoch=initial_epoch,
        epochs_done=run.epochs_done,
        stopped=stopped,
        samples=grid.paths if grid is not None else [],
        curves=end.plot(),
        checkpoint=checkpointer.latest,
        best=run.best,
        seconds=time.monotonic() - start,
        diverged=bool(bad),
    )
