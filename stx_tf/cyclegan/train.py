"""The CycleGAN training driver behind ``stx cyclegan train``, the quick start and the notebook.

``train(config, data, out_dir)`` finds or takes the data, pairs the domains so that each epoch covers
every photo (:func:`stx_tf.data.pair_domains`), builds and compiles the model inside the strategy's
scope, resumes a stopped run exactly, and runs ``fit`` with the run's callbacks: a checkpoint and
``loss_curves.png`` after every epoch, a grid of the same photos and paintings translated after every
epoch (``samples/epoch_NNN.png``), a NaN guard that stops and restores the last good checkpoint, and a
time budget. At the end the photo → Monet generator is saved as ``monet_generator.keras`` for export.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from stx_tf.cyclegan import callbacks as cbs
from stx_tf.cyclegan.checkpoint import (
    GENERATOR_FILE,
    RUN_FILE,
    RunCheckpoint,
    check_compatible,
    read_run,
    save_generator,
)
from stx_tf.cyclegan.config import CycleGANConfig, build_cyclegan
from stx_tf.cyclegan.schedule import LinearDecay
from stx_tf.settings import get_logger

log = get_logger(__name__)


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        model: the trained :class:`~stx_tf.cyclegan.model.CycleGAN`.
        history: metric means per epoch over the whole run (resumed epochs included).
        out_dir: the run folder.
        epochs_done: epochs completed so far.
        steps_per_epoch: optimiser steps per epoch.
        stopped: why training stopped early (time budget, NaN), or None.
        samples: sample-grid PNGs written by this call.
        curves: ``loss_curves.png`` (None before the first epoch).
        generator_path: the saved photo → Monet generator.
        seconds: wall time of this call.
    """

    model: object
    history: dict
    out_dir: Path
    epochs_done: int
    steps_per_epoch: int
    stopped: str | None = None
    samples: list = field(default_factory=list)
    curves: Path | None = None
    generator_path: Path | None = None
    seconds: float = 0.0


def _sources(data):
    """``(photo_source, monet_source)`` from a CompetitionData, a pair, or None (find it)."""
    if data is None:
        from stx_tf.data import find_competition_data

        data = find_competition_data()
        log.info("data: %s", data)
    if hasattr(data, "photo") and hasattr(data, "monet"):
        return data.photo, data.monet
    if isinstance(data, tuple | list) and len(data) == 2:
        return data
    raise ValueError("data must be a CompetitionData, a (photo_source, monet_source) pair, or None")


def make_datasets(config: CycleGANConfig, data, global_batch: int):
    """Paired training batches and the fixed sample images.

    Returns:
        ``(dataset of (photo, monet) batches, steps_per_epoch, sample_photos, sample_monets)``.
    """
    from stx_tf.data import all_jpeg, augmenter, count_images, load_images, pair_domains

    photo_src, monet_src = _sources(data)
    size = config.image_size
    n_photo, n_monet = count_images(photo_src), count_images(monet_src)
    # Without a cache the augmenter decodes each JPEG only inside its random crop window.
    encoded = (config.jitter or config.flip) and not config.cache
    augment = None
    if config.jitter or config.flip:
        jpeg_only = encoded and all_jpeg(photo_src) and all_jpeg(monet_src)
        augment = augmenter(size, jitter=config.jitter, flip=config.flip, jpeg_only=jpeg_only)

    def images(source, **options):
        return load_images(source, size=size, skip_bad=config.skip_corrupt, **options)

    pairs, steps = pair_domains(
        images(photo_src, encoded=encoded),
        images(monet_src, encoded=encoded),
        global_batch,
        n_photo,
        n_monet,
        augment_fn=augment,
        cache=config.cache,
        seed=config.seed,
        skip_errors=config.skip_corrupt,
    )
    if config.steps_per_epoch:
        steps = min(steps, config.steps_per_epoch)
        pairs = pairs.take(steps)
    log.info("%d photos, %d paintings: %d steps of %d per epoch", n_photo, n_monet, steps, global_batch)

    def first(ds, n):
        return np.stack(list(ds.take(n).as_numpy_iterator()))

    return pairs, steps, first(images(photo_src), config.samples), first(images(monet_src), config.samples)


def prepare_strategy(config: CycleGANConfig, strategy=None):
    """The strategy (default :func:`stx_tf.strategy.get_strategy`) with the config's precision policy and
    seed set; returns ``(strategy, global_batch)``."""
    from stx_tf.strategy import get_strategy, global_batch_size, set_precision

    strategy = strategy or get_strategy()
    if config.precision != "float32":
        set_precision(strategy, config.precision)
    keras.utils.set_random_seed(config.seed)
    return strategy, global_batch_size(config.batch_size, strategy)


def compiled_model(config: CycleGANConfig, strategy, steps: int):
    """The CycleGAN of ``config`` built and compiled inside ``strategy.scope()``, its learning-rate
    schedule laid out for ``steps`` per epoch."""
    with strategy.scope():
        model = build_cyclegan(config)
        schedule = LinearDecay.for_epochs(config.learning_rate, config.epochs, config.decay_epochs, steps)
        model.compile(
            adversarial_loss=config.adversarial_loss,
            label_smoothing=config.label_smoothing,
            diff_augment=config.diff_augment,
            learning_rate=schedule,
            beta_1=config.beta_1,
            steps_per_execution=min(config.steps_per_execution, steps),
        )
    return model


def _prepare_out_dir(out_dir: Path, resume) -> bool:
    """Create the run folder and decide whether to resume (``resume`` is True, False or ``"auto"``)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"{out_dir}: output folder is not writable ({err.strerror or err})") from None
    exists = (out_dir / RUN_FILE).is_file()
    if resume == "auto":
        return exists
    if resume and not exists:
        raise ValueError(f"{out_dir}: nothing to resume (no {RUN_FILE} / checkpoint); start without --resume")
    if not resume and exists:
        raise ValueError(
            f"{out_dir}: already holds a run; pass --resume (resume=True) to continue it, or another folder"
        )
    return bool(resume)


def train(
    config: CycleGANConfig | None = None,
    data=None,
    out_dir="outputs/cyclegan",
    resume: bool | str = False,
    strategy=None,
    callbacks=(),
    verbose="auto",
) -> TrainResult:
    """Train (or continue training) a photo → Monet CycleGAN.

    Args:
        config: settings (default: the paper's, :class:`~stx_tf.cyclegan.config.CycleGANConfig`).
        data: a :class:`stx_tf.data.CompetitionData`, a ``(photo_source, monet_source)`` pair of anything
            :func:`stx_tf.data.load_images` reads, or None to find the competition data.
        out_dir: the run folder (checkpoints, samples, curves, generator).
        resume: continue the run in ``out_dir`` from its latest checkpoint (optimiser states, learning-rate
            position, image pools, epoch); ``"auto"`` resumes when there is one.
        strategy: a ``tf.distribute`` strategy (default :func:`stx_tf.strategy.get_strategy`).
        callbacks: extra Keras callbacks.
        verbose: ``fit`` verbosity.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: bad config or data, an unwritable folder, nothing to resume, an incompatible
            checkpoint (other generator type or widths).
    """
    start = time.monotonic()
    config = (config or CycleGANConfig()).validate()
    out_dir = Path(out_dir)
    resuming = _prepare_out_dir(out_dir, resume)
    saved = read_run(out_dir) if resuming else None
    if saved:
        check_compatible(saved.get("config", {}), config, out_dir)

    strategy, global_batch = prepare_strategy(config, strategy)
    pairs, steps, sample_photos, sample_monets = make_datasets(config, data, global_batch)
    model = compiled_model(config, strategy, steps)
    run_ckpt = RunCheckpoint(
        model, out_dir, keep=config.keep_checkpoints
    )  # its epoch counter stays on the host
    initial_epoch, history = 0, {}
    if resuming:
        initial_epoch = run_ckpt.restore()
        history = saved.get("history", {})
        log.info(
            "resumed %s at epoch %d (optimiser step %d)",
            out_dir,
            initial_epoch,
            int(model.monet_gen_optimizer.iterations),
        )

    grid = cbs.SampleGrid(sample_photos, sample_monets, out_dir)
    checkpoints = cbs.EpochCheckpoint(run_ckpt, config, history)
    guard = cbs.NaNGuard()
    run_callbacks = [guard, checkpoints, grid]
    budget = None
    if config.time_budget is not None:
        budget = cbs.TimeBudget(config.time_budget_seconds, start=start)
        run_callbacks.append(budget)
    if initial_epoch >= config.epochs:
        log.info("%s: all %d epochs already done", out_dir, config.epochs)
    else:  # the paired dataset knows its length: `steps` batches per epoch
        run_callbacks += list(callbacks)
        model.fit(
            pairs, epochs=config.epochs, initial_epoch=initial_epoch, callbacks=run_callbacks, verbose=verbose
        )

    stopped = budget.stopped if budget else None
    if guard.bad:
        epoch, step, key = guard.bad
        good = run_ckpt.latest
        where = (
            f"restored the last good checkpoint {good}"
            if good
            else "no good checkpoint yet: weights are unusable"
        )
        stopped = f"non-finite {key} at epoch {epoch}, step {step}: stopped; {where}"
        if good:
            run_ckpt.restore(good)
        log.warning("NaN guard: %s", stopped)
    elif stopped:
        log.warning("stopped early: %s", stopped)
    broken = guard.bad is not None and run_ckpt.latest is None
    generator_path = None if broken else save_generator(model.monet_generator, out_dir / GENERATOR_FILE)
    epochs_done = checkpoints.last_epoch or initial_epoch
    return TrainResult(
        model=model,
        history=checkpoints.history,
        out_dir=out_dir,
        epochs_done=epochs_done,
        steps_per_epoch=steps,
        stopped=stopped,
        samples=grid.paths,
        curves=checkpoints.plot(),
        generator_path=generator_path,
        seconds=time.monotonic() - start,
    )
