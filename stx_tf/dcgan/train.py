"""Train a DCGAN on any folder of faces with the run skeleton (:func:`stx_tf.training.fit_run`).

``train(DCGANConfig(images="faces/", out_dir="runs/faces"))`` writes into ``out_dir``::

    run.json, checkpoints/       the run state and the newest checkpoints (resume, NaN-safe)
    samples/epoch_001.png ...    the same fixed noise drawn after every epoch
    loss_curves.png              d_loss and g_loss per epoch
    accuracy_curves.png          discriminator accuracy on real and on fake images per epoch
    generator.keras              the final generator in float32 (for ``stx dcgan sample``)
    interpolation.png            a latent interpolation grid of the final generator
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from stx_tf import atomic, precision
from stx_tf.configs import parse_duration
from stx_tf.data import count_images, load_images, make_pipeline
from stx_tf.dcgan.config import DCGANConfig
from stx_tf.dcgan.model import DCGAN
from stx_tf.dcgan.nets import build_models, latent_dim_of
from stx_tf.dcgan.sample import generate, interpolate, latent_points
from stx_tf.settings import get_logger
from stx_tf.strategy import describe, global_batch_size, is_tpu
from stx_tf.training import (
    Curves,
    RunFolder,
    RunResult,
    RunShortcuts,
    execution_steps,
    fit_run,
    list_checkpoints,
    load_arrays,
)
from stx_tf.viz import image_grid

log = get_logger(__name__)

KIND = "dcgan"
GENERATOR_FILE = "generator.keras"

#: Cache decoded images in memory when they take less than this many bytes.
CACHE_LIMIT_BYTES = 2 * 1024**3

#: The curves figures of a DCGAN run.
CURVES = (
    Curves("loss_curves.png", "DCGAN losses", ("d_loss", "g_loss"), logy=False),
    Curves("accuracy_curves.png", "discriminator accuracy", ("d_acc_real", "d_acc_fake"), logy=False),
)


@dataclass
class TrainResult(RunShortcuts):
    """What :func:`train` produced: the model, the skeleton's :class:`~stx_tf.training.RunResult` (read
    through the shortcuts of :class:`~stx_tf.training.RunShortcuts`), the saved generator and
    interpolation grid, and the number of images trained on."""

    model: DCGAN
    run: RunResult
    generator_path: Path | None
    interpolation: Path | None
    images_used: int


def face_dataset(config: DCGANConfig, global_batch: int) -> tuple[tf.data.Dataset, int, int]:
    """The shuffled, repeated training batches, the steps per epoch, and the number of images used.

    Raises:
        ValueError: no images, unreadable files (unless ``skip_bad``), or fewer images than one batch.
    """
    if config.images is None:
        raise ValueError("DCGANConfig.images: give a folder (or zip / TFRecords) of face images")
    n = count_images(config.images, skip_bad=config.skip_bad)
    ds = load_images(config.images, size=config.image_size, skip_bad=config.skip_bad)
    if config.max_images:
        n = min(n, int(config.max_images))
        ds = ds.take(n)
    if n < global_batch:
        raise ValueError(
            f"{config.images}: {n} images is fewer than one batch of {global_batch}; lower batch_size"
        )
    cache = n * config.image_size**2 * 3 * 4 < CACHE_LIMIT_BYTES
    ds = make_pipeline(ds, global_batch, shuffle=True, repeat=True, cache=cache, seed=config.seed)
    return ds, n // global_batch, n


def build_gan(config: DCGANConfig, strategy=None, steps_per_execution: int | None = None) -> DCGAN:
    """Build and compile the ``DCGAN`` of a config inside ``strategy.scope()``, its nets under the
    policy of :func:`stx_tf.precision.resolve` (the global Keras policy is left as it was)."""
    strategy = strategy or tf.distribute.get_strategy()
    policy = precision.resolve(config.precision, strategy)
    gen_config, disc_config = config.net_configs()
    with strategy.scope(), precision.policy_scope(policy):
        gen, disc = build_models(
            config.architecture,
            latent_dim=config.latent_dim,
            image_size=config.image_size,
            generator=gen_config,
            discriminator=disc_config,
        )
        gan = DCGAN(
            gen,
            disc,
            label_smoothing=config.label_smoothing,
            instance_noise=config.instance_noise,
            diff_augment=config.diff_augment,
            seed=config.seed,
        )
        gan.compile(
            learning_rate=config.learning_rate,
            beta_1=config.beta_1,
            steps_per_execution=steps_per_execution or config.steps_per_execution,
        )
    return gan


def save_generator(generator: keras.Model, path) -> Path:
    """Save a generator as a float32 ``.keras`` file atomically (runs anywhere, loads in any precision)."""
    with atomic.atomic_path(path) as tmp:
        precision.cast_copy(generator, "float32").save(tmp)
    return Path(path)


def train(config: DCGANConfig, strategy=None, callbacks=(), verbose="auto") -> TrainResult:
    """Train (or resume, see ``config.resume``) a DCGAN as described by ``config``.

    Args:
        config: the run settings.
        strategy: a ``tf.distribute`` strategy (default: the current one).
        callbacks: extra Keras callbacks.
        verbose: ``fit`` verbosity (a progress bar with an ETA by default).

    Raises:
        ValueError: bad images folder, too few images, or a run in ``out_dir`` that does not match the
            config (latent size, architecture, image size).
    """
    start = time.monotonic()
    config.validate()
    strategy = strategy or tf.distribute.get_strategy()
    run = RunFolder(config.out_dir, KIND, config.to_dict(), config.checkpoint_fields(), resume=config.resume)
    keras.utils.set_random_seed(config.seed)
    global_batch = global_batch_size(config.batch_size, strategy)
    ds, steps, n_images = face_dataset(config, global_batch)
    spe = execution_steps(config.steps_per_execution, steps, strategy.num_replicas_in_sync, is_tpu(strategy))
    gan = build_gan(config, strategy, spe)
    log.info(
        "DCGAN %s: %d images, global batch %d, %d steps/epoch (%d per compiled call), %s, %s",
        config.architecture, n_images, global_batch, steps, spe,
        precision.resolve(config.precision, strategy), describe(strategy),
    )
    noise = latent_points(config.grid_size, config.latent_dim, config.seed)

    def render(model, path, epoch):
        images = generate(model.generator, noise)
        ncols = int(np.ceil(np.sqrt(len(images))))
        image_grid(images, ncols=ncols, path=path, cell=0.9, suptitle=f"epoch {epoch}")

    result = fit_run(
        gan, ds, run=run, items=gan.checkpoint_items(), epochs=config.epochs, steps_per_epoch=steps,
        render=render, curves=CURVES, time_budget=parse_duration(config.time_budget) if config.time_budget else None,
        start=start, keep=config.keep_checkpoints, callbacks=callbacks, verbose=verbose,
    )
    generator_path = interpolation = None
    if not result.broken:
        generator_path = save_generator(gan.generator, run.path / GENERATOR_FILE)
        interpolation = run.path / "interpolation.png"
        interpolate(gan.generator, interpolation, seed=config.seed)
    return TrainResult(gan, result, generator_path, interpolation, n_images)


def load_generator(path, latent_dim: int | None = None) -> keras.Model:
    """Load a trained generator for sampling.

    Args:
        path: a ``.keras`` generator file, or a run folder (its ``generator.keras`` when newer than its
            newest checkpoint, else the generator of that checkpoint).
        latent_dim: if given, the latent size the caller expects (checked against the file).

    Raises:
        ValueError: nothing loadable at ``path``, or a latent size mismatch.
    """
    path = Path(path)
    if path.is_dir():
        found = list_checkpoints(path)
        saved = path / GENERATOR_FILE
        if saved.is_file() and (not found or saved.stat().st_mtime >= found[-1].stat().st_mtime):
            return load_generator(saved, latent_dim)
        if not found:
            raise ValueError(f"{path}: no {GENERATOR_FILE} and no checkpoint in checkpoints/")
        from stx_tf.training import assign, read_run

        config = DCGANConfig.from_dict(read_run(path)["config"])
        gen_config, disc_config = config.net_configs()
        generator, _ = build_models(config.architecture, config.latent_dim, config.image_size, gen_config, disc_config)
        assign(generator.variables, load_arrays(found[-1], "generator"), f"{found[-1]}: generator")
    else:
        if not path.is_file():
            raise ValueError(f"{path}: no such generator file")
        if path.suffix != ".keras":
            raise ValueError(f"{path}: expected a .keras generator file or a run folder")
        try:
            generator = keras.models.load_model(path, compile=False)
        except Exception as err:  # keras raises many types for a bad archive
            raise ValueError(f"{path}: not a loadable Keras model ({err})") from None
    found_dim = latent_dim_of(generator)
    if latent_dim is not None and int(latent_dim) != found_dim:
        raise ValueError(f"{path}: generator takes latent_dim={found_dim}, not {latent_dim}")
    return generator
