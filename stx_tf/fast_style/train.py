"""``train(config)``: data, models and the run skeleton (:func:`stx_tf.training.fit_run`) for one painting.

Outputs in ``config.out_dir``: ``run.json`` and ``checkpoints/`` (exact resume, never NaN), one sample grid
per epoch (``samples/epoch_NNN.png``: the painting, the photos, the photos as the net paints them now),
``loss_curves.png``, and ``transform.keras`` (+ ``.json``) when training ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from stx_tf import data as sdata
from stx_tf import precision, viz
from stx_tf.configs import parse_duration
from stx_tf.fast_style.config import FastStyleConfig
from stx_tf.fast_style.model import AdversarialFastStyleTrainer, FastStyleTrainer
from stx_tf.fast_style.nets import build_transform_net
from stx_tf.fast_style.perceptual import build_perceptual_loss
from stx_tf.fast_style.storage import save_transform
from stx_tf.settings import get_logger
from stx_tf.strategy import global_batch_size
from stx_tf.training import Curves, RunFolder, RunResult, RunShortcuts, fit_run

log = get_logger(__name__)

KIND = "fast_style"
CHECKPOINT_NAME = "transform.keras"


@dataclass
class TrainResult(RunShortcuts):
    """What :func:`train` leaves behind: the transform net, the skeleton's run result (read through the
    shortcuts of :class:`~stx_tf.training.RunShortcuts`), the saved ``transform.keras`` (``None`` when
    training diverged before any good checkpoint) and its info."""

    transform: keras.Model
    run: RunResult
    checkpoint: Path | None
    info: dict = field(default_factory=dict)
    model: keras.Model | None = None  # the trainer (transform net + loss, and the discriminator)


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
    ds = sdata.make_pipeline(photos, batch, repeat=True, augment_fn=prep, cache=config.cache, seed=config.seed)
    return ds, config.steps_per_epoch or n_photos // batch


def sample_photos(source, count: int, size: int) -> np.ndarray:
    """The first ``count`` images of ``source`` as ``(N, size, size, 3)`` floats in ``[0, 1]``."""
    batch = next(iter(sdata.load_images(source, size=size).take(count).batch(count)))
    return np.asarray(sdata.to_unit(batch), np.float32)


def build_trainer(config: FastStyleConfig, style_image, batch: int, strategy) -> FastStyleTrainer:
    """Transform net, perceptual loss (and discriminator) built under the config's precision and compiled
    in ``strategy.scope()``, the optimisers' slots created (a checkpoint can be restored at once)."""
    from stx_tf.nn import patchgan_discriminator

    with strategy.scope(), precision.policy_scope(precision.resolve(config.precision, strategy)):
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
            disc = patchgan_discriminator(filters=config.d_filters, name="painting_discriminator")
            model = AdversarialFastStyleTrainer(
                transform, perceptual, disc, config.adversarial_weight, global_batch_size=batch
            )
            d_optimizer = keras.optimizers.Adam(config.d_learning_rate, beta_1=0.5)
            model.compile(optimizer=optimizer, d_optimizer=d_optimizer, **common)
        else:
            model = FastStyleTrainer(transform, perceptual, global_batch_size=batch)
            model.compile(optimizer=optimizer, **common)
        model.optimizer.build(model.transform.trainable_variables)
    return model


def _info(config: FastStyleConfig, steps: int, batch: int) -> dict:
    return {
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


def train(config: FastStyleConfig, strategy=None, callbacks=(), verbose: int | str = "auto") -> TrainResult:
    """Train (or continue, see ``config.resume``) a transform net for one painting.

    Args:
        config: the run's :class:`FastStyleConfig` (validated here).
        strategy: a ``tf.distribute`` strategy (default: the current one).
        callbacks: extra Keras callbacks.
        verbose: ``fit`` verbosity (a progress bar with an ETA by default).

    Returns:
        A :class:`TrainResult`; the trained net is also in ``out_dir / "transform.keras"``.

    Raises:
        ValueError: bad configuration, unreadable painting, missing photos, an incompatible run.
    """
    start = time.monotonic()
    config.validate().check_inputs()
    strategy = strategy or tf.distribute.get_strategy()
    run = RunFolder(config.out_dir, KIND, config.to_dict(), config.checkpoint_fields(), resume=config.resume)
    keras.utils.set_random_seed(config.seed)
    batch = global_batch_size(config.batch_size, strategy)
    style_image = sdata.load_image(config.style, max_dim=config.style_size, name=str(config.style))
    ds, steps = training_data(config, batch)
    photos = sample_photos(config.photos, config.samples, config.image_size)
    model = build_trainer(config, style_image, batch, strategy)

    def render(trainer, path, epoch):
        styled = np.asarray(trainer.transform(photos, training=False))
        viz.rows_grid({"painting": [style_image], "photo": list(photos), f"epoch {epoch}": list(styled)}, path=path)

    result = fit_run(
        model, ds, run=run, items=model.checkpoint_items(), epochs=config.epochs, steps_per_epoch=steps,
        render=render, curves=(Curves("loss_curves.png", "fast style: losses"),),
        time_budget=parse_duration(config.time_budget) if config.time_budget else None, start=start,
        keep=config.keep_checkpoints, callbacks=callbacks, verbose=verbose,
    )
    info = {**_info(config, steps, batch), "epoch": result.epochs_done, "train_seconds": round(result.seconds, 1)}
    checkpoint = None
    if not result.broken:
        info["logs"] = {k: v[-1] for k, v in result.history.items() if v}
        checkpoint = save_transform(precision.cast_copy(model.transform, "float32"), run.path / CHECKPOINT_NAME, info)
    log.info("trained %d epoch(s) x %d steps in %.0f s -> %s", result.epochs_done, steps, result.seconds, run.path)
    return TrainResult(model.transform, result, checkpoint, info, model)
