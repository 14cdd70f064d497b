"""``train(config)``: data, models, callbacks and ``fit`` for one fast-style run.

Outputs in ``config.out_dir``: ``transform.keras`` (+ ``.json``) after every epoch, ``backup/`` (full
training state for ``resume``), ``samples_epochNNN.png``, ``history.csv`` and ``losses.png``.
"""

from __future__ import annotations

import csv
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from stx_tf import data as sdata
from stx_tf import viz
from stx_tf.fast_style.callbacks import SampleGrid, SaveTransform
from stx_tf.fast_style.perceptual import build_perceptual_loss
from stx_tf.fast_style.trainer import AdversarialFastStyleTrainer, FastStyleConfig, FastStyleTrainer
from stx_tf.fast_style.transform import build_transform_net
from stx_tf.settings import get_logger
from stx_tf.strategy import global_batch_size

log = get_logger(__name__)

CHECKPOINT_NAME = "transform.keras"


@dataclass
class TrainResult:
    """What :func:`train` leaves behind."""

    transform: keras.Model
    history: dict[str, list[float]]
    run_dir: Path
    checkpoint: Path
    samples: list[Path] = field(default_factory=list)
    info: dict = field(default_factory=dict)


def _unit_images(source, size: int, flip: bool):
    """Photos / paintings as a dataset of ``(size, size, 3)`` float images in ``[0, 1]`` (+ its size)."""
    ds = sdata.load_images(source, size=size)
    count = sdata.count_images(source)

    def prep(image):  # [-1, 1] -> [0, 1], random flip
        image = tf.image.random_flip_left_right(image) if flip else image
        return sdata.to_unit(image)

    return ds, count, prep


def training_data(config: FastStyleConfig, batch: int):
    """``(dataset, steps_per_epoch)``: photo batches, or ``(photos, paintings)`` batches when adversarial."""
    photos, n_photos, prep = _unit_images(config.photos, config.image_size, config.flip)
    if n_photos < batch:
        raise ValueError(f"{config.photos}: {n_photos} photo(s), fewer than one batch of {batch}")
    if config.adversarial_weight > 0:
        paintings, n_paint, _ = _unit_images(config.paintings, config.image_size, config.flip)
        paired, steps = sdata.pair_domains(
            photos, paintings, batch, n_photos, n_paint, augment_fn=prep, cache=config.cache, seed=config.seed
        )
        return paired.repeat(), config.steps_per_epoch or steps
    ds = sdata.make_pipeline(
        photos, batch, repeat=True, augment_fn=prep, cache=config.cache, seed=config.seed
    )
    return ds, config.steps_per_epoch or n_photos // batch


def sample_photos(source, count: int, size: int) -> np.ndarray:
    """The first ``count`` images of ``source`` as ``(N, size, size, 3)`` floats in ``[0, 1]``."""
    batch = next(iter(sdata.load_images(source, size=size).take(count).batch(count)))
    return np.asarray(sdata.to_unit(batch), np.float32)


def build_trainer(config: FastStyleConfig, style_image, batch: int, strategy) -> FastStyleTrainer:
    """Transform net, perceptual loss (and discriminator) built and compiled in ``strategy.scope()``."""
    with strategy.scope():
        transform = build_transform_net(config.filters, config.residual_blocks)
        perceptual = build_perceptual_loss(
            config.backbone,
            style_image,
            weights=config.weights,
            style_layers=config.style_layers,
            content_layers=config.content_layers,
            content_weight=config.content_weight,
            style_weight=config.style_weight,
            tv_weight=config.tv_weight,
            style_layer_weights=config.style_layer_weights,
        )
        optimizer = keras.optimizers.Adam(config.learning_rate)
        common = {"steps_per_execution": config.steps_per_execution, "jit_compile": config.jit_compile}
        if config.adversarial_weight > 0:
            from stx_tf.nn import patchgan_discriminator

            disc = patchgan_discriminator(filters=config.d_filters, name="painting_discriminator")
            model = AdversarialFastStyleTrainer(
                transform, perceptual, disc, config.adversarial_weight, global_batch_size=batch
            )
            d_optimizer = keras.optimizers.Adam(config.d_learning_rate, beta_1=0.5)
            model.compile(optimizer=optimizer, d_optimizer=d_optimizer, **common)
        else:
            model = FastStyleTrainer(transform, perceptual, global_batch_size=batch)
            model.compile(optimizer=optimizer, **common)
        model(np.zeros((1, config.image_size, config.image_size, 3), np.float32))  # build (BackupAndRestore)
    return model


def _read_history(path: Path) -> dict[str, list[float]]:
    if not path.is_file():
        return {}
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    keys = [k for k in (rows[0] if rows else {}) if k != "epoch" and not k.startswith("val_")]
    return {k: [float(r[k]) for r in rows if r.get(k) not in (None, "", "NA")] for k in keys}


def _prepare_run_dir(run_dir: Path, resume: bool) -> Path:
    backup = run_dir / "backup"
    if backup.exists() and not resume:
        log.info("%s: starting afresh (resume=False), removing the old backup", run_dir)
        shutil.rmtree(backup)
    elif resume and not backup.exists():
        log.info("%s: nothing to resume from, starting afresh", run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return backup


def train(config: FastStyleConfig, strategy=None, callbacks=(), verbose: int | str = "auto") -> TrainResult:
    """Train a transform net for one painting.

    Args:
        config: the run's :class:`FastStyleConfig` (validated here).
        strategy: a ``tf.distribute`` strategy (default: the current one).
        callbacks: extra Keras callbacks.
        verbose: ``fit`` verbosity (``1``: progress bar).

    Returns:
        A :class:`TrainResult`; the trained net is also in ``run_dir / "transform.keras"``.

    Raises:
        ValueError: bad configuration, unreadable painting, missing photos.
    """
    config.validate()
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(config.seed)
    run_dir = Path(config.out_dir)
    backup = _prepare_run_dir(run_dir, config.resume)
    batch = global_batch_size(config.batch_size, strategy)
    style_image = sdata.load_image(config.style, max_dim=config.style_size, name=str(config.style))
    ds, steps = training_data(config, batch)
    samples = sample_photos(config.photos, config.samples, config.image_size)
    model = build_trainer(config, style_image, batch, strategy)

    info = {
        "kind": "fast_style",
        "style": str(config.style),
        "backbone": config.backbone,
        "image_size": config.image_size,
        "filters": list(config.filters),
        "residual_blocks": config.residual_blocks,
        "steps_per_epoch": steps,
        "batch_size": batch,
        "weights": {
            "content": config.content_weight,
            "style": config.style_weight,
            "tv": config.tv_weight,
            "adversarial": config.adversarial_weight,
        },
        **config.extra,
    }
    checkpoint = run_dir / CHECKPOINT_NAME
    grid = SampleGrid(samples, run_dir, style_image=style_image)
    history_csv = run_dir / "history.csv"
    fit_callbacks = [
        keras.callbacks.BackupAndRestore(
            str(backup), save_freq=config.checkpoint_every or "epoch", delete_checkpoint=False
        ),
        keras.callbacks.CSVLogger(str(history_csv), append=config.resume),
        SaveTransform(checkpoint, info),
        grid,
        *callbacks,
    ]
    start = time.perf_counter()
    model.fit(
        ds,
        epochs=config.epochs,
        steps_per_epoch=steps,
        callbacks=fit_callbacks,
        verbose=verbose,
        shuffle=False,
    )
    info["train_seconds"] = round(time.perf_counter() - start, 1)
    history = _read_history(history_csv)
    if history:
        viz.plot_curves(history, path=run_dir / "losses.png", title="fast style: losses", logy=True)
    log.info(
        "trained %d epoch(s) x %d steps in %.0f s -> %s", config.epochs, steps, info["train_seconds"], run_dir
    )
    return TrainResult(model.transform, history, run_dir, checkpoint, grid.paths, info)
