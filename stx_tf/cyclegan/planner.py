"""Plan a CycleGAN (or CUT) run so that training *and* the export fit a Kaggle session.

Kaggle stops a notebook at its run-time limit (3 h on TPU, 5 h on GPU or CPU for this competition) and a run
that is killed before ``images.zip`` is written submits nothing. :func:`plan_run` measures, on the
hardware at hand and with the config at hand, the seconds per train step (a throwaway copy of the model,
a few steps after the compile) and the export speed of the generator, then works out how many epochs fit
in what is left of the session after the export and a reserve, and :meth:`RunPlan.apply` returns the
config with those epochs (the decay phase scaled alike) and a time budget that stops training at the
planned deadline whatever the estimate missed.

    plan = plan_run(config, ctx.data, strategy=ctx.strategy, place=ctx.place)
    print(plan.summary())
    config = plan.apply(config)
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from stx_tf.backend import KAGGLE_LIMITS, kaggle_time_limit  # noqa: F401 (KAGGLE_LIMITS: re-exported)
from stx_tf.configs import parse_duration
from stx_tf.cyclegan.config import CycleGANConfig
from stx_tf.settings import get_logger
from stx_tf.strategy import device_kind

log = get_logger(__name__)

#: Kept free at the end of the session: scoring, saving outputs, and the estimate's error.
DEFAULT_RESERVE = 15 * 60.0
#: Per epoch beyond the train steps: checkpoint, sample grid, loss curves.
DEFAULT_EPOCH_OVERHEAD = 20.0


def session_elapsed() -> float:
    """Seconds since this Python process (the notebook's kernel) started: Kaggle's clock runs from there.

    Linux ``/proc`` only; 0 elsewhere.
    """
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def _fmt(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    if seconds >= 60:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{seconds:.1f}s"


@dataclass
class RunPlan:
    """What fits: measured speeds, the time line and the epochs to train.

    All times in seconds. ``limit`` is None when there is no session limit (a local run): then nothing
    is cut and the plan only estimates how long the run takes.
    """

    device: str
    limit: float | None
    elapsed: float  # session time used when the plan was made (including its measurements)
    compile_seconds: float  # the first execution, minus its steps: paid again when training starts
    step_seconds: float  # one train step on a global batch
    steps_per_epoch: int
    epoch_overhead: float
    export_images: int
    export_rate: float  # images per second, inference + JPEG encoding
    reserve: float
    requested_epochs: int  # epochs still to train
    epochs: int  # of those, what fits (== requested_epochs without a limit)
    made_at: float  # time.monotonic() when the plan was made
    initial_epoch: int = 0  # epochs already done (a resumed run)
    score_seconds: float = 0.0  # one scoring during training (painting + features of the score photos)
    score_every: int = 0  # epochs between scorings (0: no scoring)

    @property
    def epoch_seconds(self) -> float:
        scoring = self.score_seconds / self.score_every if self.score_every else 0.0
        return self.steps_per_epoch * self.step_seconds + self.epoch_overhead + scoring

    @property
    def export_seconds(self) -> float:
        return self.export_images / self.export_rate

    @property
    def training_seconds(self) -> float:
        """Estimated time of the planned epochs, compile included."""
        return self.compile_seconds + self.epochs * self.epoch_seconds

    @property
    def budget(self) -> float | None:
        """Training time available from when the plan was made: limit − elapsed − export − reserve."""
        if self.limit is None:
            return None
        return self.limit - self.elapsed - self.export_seconds - self.reserve

    @property
    def fits(self) -> bool:
        """At least one epoch fits before the export must start (always True without a limit)."""
        return self.budget is None or self.budget >= self.compile_seconds + self.epoch_seconds

    def epochs_that_fit(self) -> int:
        """How many of the requested epochs end before the budget (all of them without a limit)."""
        if self.budget is None:
            return self.requested_epochs
        fit = math.floor((self.budget - self.compile_seconds) / self.epoch_seconds)
        return max(0, min(self.requested_epochs, fit))

    def remaining_budget(self) -> float | None:
        """The training budget left now (the plan's budget minus the time since it was made)."""
        if self.budget is None:
            return None
        return self.budget - (time.monotonic() - self.made_at)

    def apply(self, config: CycleGANConfig) -> CycleGANConfig:
        """``config`` with the planned epochs (decay epochs scaled alike) and the time budget.

        Without a limit the config comes back unchanged. When not even one epoch fits, one epoch is
        kept and the time budget stops it early (a shortened epoch still saves its checkpoint).
        """
        if self.limit is None:
            return config
        epochs = min(config.epochs, self.initial_epoch + max(1, self.epochs))
        decay = config.decay_epochs
        if epochs < config.epochs and decay:
            decay = min(epochs - 1, round(decay * epochs / config.epochs)) if epochs > 1 else 0
        budget = max(60.0, self.remaining_budget())
        return config.updated(epochs=epochs, decay_epochs=decay, time_budget=math.floor(budget))

    def summary(self) -> str:
        lines = [
            f"device: {self.device} | session used so far: {_fmt(self.elapsed)}"
            + (f" of Kaggle's {_fmt(self.limit)}" if self.limit else " (no session limit)"),
            f"train step: {self.step_seconds:.3f} s × {self.steps_per_epoch} steps"
            f" + {self.epoch_overhead:.0f} s per epoch = {_fmt(self.epoch_seconds)} per epoch"
            f" (compile {_fmt(self.compile_seconds)})",
            f"export: {self.export_images} images at {self.export_rate:.1f} img/s = {_fmt(self.export_seconds)}",
        ]
        if self.score_every:
            lines.insert(2, f"scoring during training: {_fmt(self.score_seconds)} every {self.score_every} epoch(s),"
                            " counted in the epoch time")
        if self.limit is None:
            lines.append(
                f"{self.epochs} epochs ≈ {_fmt(self.training_seconds)} of training, "
                f"≈ {_fmt(self.training_seconds + self.export_seconds)} with the export"
            )
        else:
            lines.append(
                f"training budget: {_fmt(self.budget)} (limit − used − export − reserve of {_fmt(self.reserve)})"
            )
            if not self.fits:
                lines.append(
                    "NOT EVEN ONE EPOCH FITS: use steps_per_epoch, a smaller image_size or generator, "
                    "or a faster accelerator; the time budget will stop the first epoch early"
                )
            elif self.epochs < self.requested_epochs:
                lines.append(
                    f"{self.requested_epochs} epochs requested, {self.epochs} fit "
                    f"(≈ {_fmt(self.training_seconds)}): the config is cut to {self.epochs}"
                )
            else:
                lines.append(
                    f"all {self.requested_epochs} epochs fit (≈ {_fmt(self.training_seconds)}), "
                    f"{_fmt(self.budget - self.training_seconds)} to spare"
                )
        return "\n".join(lines)

    def plot(self, path=None, show: bool = False):
        """A bar of the session: used so far, training, export, reserve, against the limit. PNG at ``path``."""
        from stx_tf.viz import finish_figure, plt

        parts = [
            ("used so far", self.elapsed, "#9e9e9e"),
            (f"training ({self.epochs} epochs)", self.training_seconds, "#1f77b4"),
            ("export", self.export_seconds, "#ff7f0e"),
        ]
        if self.limit is not None:
            parts.append(("reserve", self.reserve, "#d9d9d9"))
        fig, ax = plt.subplots(figsize=(9, 2.4))
        left = 0.0
        for label, seconds, colour in parts:
            hours = seconds / 3600
            ax.barh(0, hours, left=left, color=colour, edgecolor="white", label=f"{label}: {_fmt(seconds)}")
            left += hours
        if self.limit is not None:
            ax.axvline(self.limit / 3600, color="red", lw=2, label=f"Kaggle limit: {_fmt(self.limit)}")
        ax.set_yticks([])
        ax.set_xlabel("hours since the session started")
        ax.set_title(f"Run plan on {self.device.upper()}")
        fig.subplots_adjust(left=0.03, right=0.97, top=0.86, bottom=0.45)
        fig.legend(loc="lower center", ncol=3, fontsize=8, frameon=False)
        return finish_figure(fig, path, show)


class _Clock(keras.callbacks.Callback):
    """Records when ``fit`` starts and when each batch ends (one per ``steps_per_execution`` steps)."""

    def __init__(self):
        super().__init__()
        self.times: list[float] = []

    def on_train_begin(self, logs=None):
        self.times.append(time.perf_counter())

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def measure_train_step(model, pairs, steps_per_execution: int, executions: int = 2):
    """``(seconds per step, compile seconds)`` of ``model.fit`` on ``pairs``.

    One warm-up execution (tracing and compiling) then ``executions`` timed ones.
    """
    clock = _Clock()
    spe = max(1, int(steps_per_execution))
    model.fit(pairs.repeat(), epochs=1, steps_per_epoch=spe * (1 + executions), callbacks=[clock], verbose=0)
    times = clock.times
    step = (times[-1] - times[1]) / (spe * (len(times) - 2))
    first = times[1] - times[0]
    return step, max(0.0, first - spe * step)


def measure_export_rate(
    generator, batch_size: int = 32, side: int = 256, precision: str = "auto", batches: int = 2
):
    """Images per second of the export's work per batch: the generator in inference mode + JPEG encoding."""
    from stx_tf.submission.export import inference_model, to_jpegs

    model = inference_model(generator, precision)
    x = np.random.default_rng(0).uniform(-1, 1, (batch_size, side, side, 3)).astype("float32")
    to_jpegs(np.asarray(model(x, training=False)), 95, side)  # warm-up
    start = time.perf_counter()
    for _ in range(batches):
        to_jpegs(np.asarray(model(x, training=False)), 95, side)
    return batches * batch_size / (time.perf_counter() - start)


def measure_extract_rate(extractor="auto", batch_size: int = 16, batches: int = 2) -> float:
    """Images per second of the scoring network (its features of 256 px images), after a warm-up."""
    from stx_tf.metrics import get_extractor

    ext = get_extractor(extractor)
    x = np.zeros((batch_size, 256, 256, 3), "float32")
    ext(x)  # warm-up
    start = time.perf_counter()
    for _ in range(batches):
        ext(x)
    return batches * batch_size / (time.perf_counter() - start)


def plan_run(
    config: CycleGANConfig,
    data=None,
    strategy=None,
    place: str | None = None,
    limit=None,
    elapsed: float | None = None,
    reserve=DEFAULT_RESERVE,
    epoch_overhead: float = DEFAULT_EPOCH_OVERHEAD,
    export_images: int | None = None,
    export_batch: int = 32,
    initial_epoch: int = 0,
    build=None,
) -> RunPlan:
    """Measure the step and export speeds of ``config`` here and plan the epochs that fit.

    Args:
        config: the training config (its precision, batch and ``steps_per_execution`` are used).
        data: as for :func:`stx_tf.cyclegan.train.train`.
        strategy: the strategy training will use.
        place: ``"kaggle"`` applies Kaggle's limit for the device (:data:`KAGGLE_LIMITS`); elsewhere
            there is no limit unless ``limit`` is given.
        limit: the session limit (seconds or ``"3h"``), overriding ``place``.
        elapsed: session seconds already used (default: the age of this process,
            :func:`session_elapsed`); the plan's own measurements are added.
        reserve: time (seconds or ``"15m"``) kept free at the end for scoring and saving.
        epoch_overhead: seconds per epoch beyond its steps (checkpoint, sample grid, curves).
        export_images: images the export writes (default: the photos, at least the 7,000 required, at
            most 10,000).
        export_batch: the export's batch size.
        initial_epoch: epochs already done (a resumed run).
        build: ``build(config)`` makes the painter (see :func:`stx_tf.cyclegan.train.compiled_model`;
            default: the CycleGAN; :func:`stx_tf.cut.train.plan` passes CUT's).

    Returns:
        A :class:`RunPlan`; ``plan.apply(config)`` gives the config to train with.
    """
    from stx_tf.cyclegan.model import build_cyclegan
    from stx_tf.cyclegan.train import compiled_model, make_datasets, prepare_strategy, sources
    from stx_tf.data import count_images
    from stx_tf.submission import MAX_IMAGES, MIN_IMAGES

    started = time.monotonic()
    before = session_elapsed() if elapsed is None else float(elapsed)
    config = config.validate()
    strategy, global_batch = prepare_strategy(config, strategy)
    device = device_kind(strategy)
    if limit is None and place == "kaggle":
        limit = kaggle_time_limit(device)
    limit = None if limit is None else parse_duration(limit)
    reserve = parse_duration(reserve) if reserve else 0.0

    pairs, steps, _, _ = make_datasets(config.updated(samples=1), data, global_batch)
    model = compiled_model(config, strategy, steps, build=build or build_cyclegan)
    spe = min(config.steps_per_execution, steps)
    log.info("planner: timing %d train steps after the compile", 2 * spe)
    step_seconds, compile_seconds = measure_train_step(model, pairs, spe)
    if export_images is None:
        export_images = min(max(count_images(sources(data)[0]), MIN_IMAGES), MAX_IMAGES)
    rate = measure_export_rate(model.monet_generator, export_batch, precision=config.precision)
    del model
    score_seconds = real_seconds = 0.0
    if config.score_every:
        extract_rate = measure_extract_rate(config.score_extractor)
        score_seconds = config.score_photos / rate + config.score_photos / extract_rate
        real_seconds = count_images(sources(data)[1]) / extract_rate  # the real set, once per run

    made_at = time.monotonic()
    plan = RunPlan(
        device=device,
        limit=limit,
        elapsed=before + (made_at - started),
        compile_seconds=compile_seconds + real_seconds,
        step_seconds=step_seconds,
        steps_per_epoch=steps,
        epoch_overhead=float(epoch_overhead),
        export_images=int(export_images),
        export_rate=rate,
        reserve=reserve,
        requested_epochs=max(0, config.epochs - initial_epoch),
        epochs=max(0, config.epochs - initial_epoch),
        made_at=made_at,
        initial_epoch=int(initial_epoch),
        score_seconds=score_seconds,
        score_every=int(config.score_every),
    )
    plan.epochs = plan.epochs_that_fit()
    log.info("run plan:\n%s", plan.summary())
    return plan
