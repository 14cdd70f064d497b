"""Train a DCGAN on any folder of faces: configuration, data, resume, per-epoch grids and checkpoints.

``train(DCGANConfig(images="faces/", out_dir="runs/faces"))`` writes into ``out_dir``::

    grids/epoch_001.png ...     the same fixed noise drawn after every epoch
    loss_curves.png             d_loss and g_loss per epoch
    accuracy_curves.png         discriminator accuracy on real and on fake images per epoch
    checkpoints/epoch_NNNN/     the newest checkpoints (resume point, see stx_tf.dcgan.checkpoint)
    generator.keras             the final generator in float32 (for ``stx dcgan sample``)
    interpolation.png           a latent interpolation grid of the final generator
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf

from stx_tf.data import count_images, load_images, make_pipeline
from stx_tf.dcgan.callbacks import EpochCheckpoint, SampleGrid
from stx_tf.dcgan.checkpoint import latest_checkpoint, read_state, restore_checkpoint
from stx_tf.dcgan.model import BETA_1, DCGAN, LEARNING_RATE
from stx_tf.dcgan.models import ARCHITECTURES, IMAGE_SIZE, LATENT_DIM, as_float32, build_models
from stx_tf.dcgan.sample import interpolate, latent_points
from stx_tf.settings import get_logger
from stx_tf.strategy import describe, global_batch_size, is_tpu, native_bfloat16

log = get_logger(__name__)

#: Accepted values of :attr:`DCGANConfig.precision`.
PRECISIONS = ("auto", "float32", "mixed_bfloat16")

#: Default :attr:`DCGANConfig.steps_per_execution` (lowered to a divisor of the steps per epoch).
STEPS_PER_EXECUTION = 8

#: Cache decoded images in memory when they take less than this many bytes.
CACHE_LIMIT_BYTES = 2 * 1024**3


@dataclass
class DCGANConfig:
    """One DCGAN run. Defaults follow Radford et al. 2015 (https://arxiv.org/abs/1511.06434).

    Attributes:
        images: faces to learn from: a folder (any sizes / modes, resized to ``image_size``), a zip, a
            folder of TFRecords or a glob (see :func:`stx_tf.data.load_images`).
        out_dir: run folder (grids, curves, checkpoints, final generator).
        architecture: ``"classic"`` (small Keras-tutorial nets) or ``"dcgan"`` (Radford et al.).
        latent_dim: noise size (100).
        image_size: image side (64).
        batch_size: PER-REPLICA batch (128 in the paper); the global batch is this × replicas.
        epochs: total epochs (a resumed run continues up to this number).
        learning_rate: Adam learning rate of both nets (2e-4).
        beta_1: Adam β1 (0.5).
        label_smoothing: one-sided label smoothing of the real targets (0 = off).
        instance_noise: std of Gaussian noise added to the discriminator's inputs (0 = off).
        augment: DiffAugment policy, e.g. ``"color,translation,cutout"`` (None = off).
        generator: extra keyword config for the generator factory (e.g. ``{"filters": 16}``).
        discriminator: extra keyword config for the discriminator factory.
        max_images: use at most this many images (quick runs).
        grid_size: images in each per-epoch fixed-noise grid.
        seed: seed of the fixed noise, the shuffling and the interpolation grid.
        steps_per_execution: train steps per ``tf.function`` call (fewer Python round trips; 8). ``train``
            lowers it to the largest divisor of the steps per epoch, so epochs keep their exact length,
            and to 1 under ``MirroredStrategy`` (see :func:`execution_steps`).
        precision: compute dtype policy of both nets: ``"float32"``, ``"mixed_bfloat16"`` (bfloat16
            maths, float32 variables, optimiser states and losses), or ``"auto"`` (default):
            ``mixed_bfloat16`` on TPUs and on CPU-only machines whose CPU has native bfloat16 (AMX or
            AVX-512 BF16; about 1.6x faster steps there), ``float32`` elsewhere (GPUs included).
        resume: continue from the newest checkpoint in ``out_dir`` if there is one.
        keep_checkpoints: how many checkpoints to keep.
        skip_bad: skip unreadable files in ``images`` (with a warning) instead of stopping.
        verbose: Keras ``fit`` verbosity (progress bar by default).
    """

    images: str | Path | None = None
    out_dir: str | Path = "runs/dcgan"
    architecture: str = "classic"
    latent_dim: int = LATENT_DIM
    image_size: int = IMAGE_SIZE
    batch_size: int = 128
    epochs: int = 25
    learning_rate: float = LEARNING_RATE
    beta_1: float = BETA_1
    label_smoothing: float = 0.0
    instance_noise: float = 0.0
    augment: str | None = None
    generator: dict = field(default_factory=dict)
    discriminator: dict = field(default_factory=dict)
    max_images: int | None = None
    grid_size: int = 64
    seed: int = 0
    steps_per_execution: int = STEPS_PER_EXECUTION
    precision: str = "auto"
    resume: bool = True
    keep_checkpoints: int = 2
    skip_bad: bool = False
    verbose: str | int = "auto"

    def validate(self) -> None:
        """Raise ``ValueError`` for settings that cannot work."""
        if self.images is None:
            raise ValueError("DCGANConfig.images: give a folder (or zip / TFRecords) of face images")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {self.architecture!r}; choose one of {sorted(ARCHITECTURES)}"
            )
        for name in ("latent_dim", "image_size", "batch_size", "epochs", "grid_size", "steps_per_execution"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"DCGANConfig.{name} must be at least 1, got {getattr(self, name)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"DCGANConfig.precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.max_images is not None and self.max_images < 1:
            raise ValueError(f"DCGANConfig.max_images must be at least 1, got {self.max_images}")

    def to_dict(self) -> dict:
        """JSON-able copy (paths as strings)."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


@dataclass
class TrainResult:
    """What :func:`train` produced."""

    model: DCGAN
    history: dict
    out_dir: Path
    grids: list[Path]
    loss_curves: Path
    accuracy_curves: Path
    checkpoint: Path | None
    generator_path: Path
    interpolation: Path
    images_used: int


def face_dataset(config: DCGANConfig, global_batch: int) -> tuple[tf.data.Dataset, int, int]:
    """The shuffled, repeated training batches, the steps per epoch, and the number of images used.

    Raises:
        ValueError: no images, unreadable files (unless ``skip_bad``), or fewer images than one batch.
    """
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


def _run_state(config: DCGANConfig) -> dict:
    return {
        "architecture": config.architecture,
        "image_size": config.image_size,
        "generator_config": config.generator,
        "discriminator_config": config.discriminator,
        "config": config.to_dict(),
    }


def _check_resumable(ckpt: Path, config: DCGANConfig) -> dict:
    """The checkpoint's state, after checking it was trained with the same latent size and design."""
    state = read_state(ckpt)
    if int(state.get("latent_dim", config.latent_dim)) != config.latent_dim:
        raise ValueError(
            f"{ckpt}: checkpoint was trained with latent_dim={state['latent_dim']}, but the config asks for "
            f"latent_dim={config.latent_dim}; use latent_dim={state['latent_dim']}, resume=False, or a new out_dir"
        )
    for key, wanted in (("architecture", config.architecture), ("image_size", config.image_size)):
        if key in state and state[key] != wanted:
            raise ValueError(
                f"{ckpt}: checkpoint has {key}={state[key]!r}, the config asks for {wanted!r}; "
                "match it, pass resume=False, or use a new out_dir"
            )
    return state


def resolve_precision(precision: str = "auto", strategy=None) -> str:
    """The dtype policy a :attr:`DCGANConfig.precision` means on this machine.

    ``"auto"`` is ``"mixed_bfloat16"`` under a TPU strategy and on CPU-only machines whose CPU does
    bfloat16 natively (:func:`stx_tf.strategy.native_bfloat16`), else ``"float32"`` (GPUs would need
    loss scaling for float16, and emulated bfloat16 is slower than float32).

    Raises:
        ValueError: an unknown precision.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if native_bfloat16(strategy) else "float32"


@contextlib.contextmanager
def dtype_policy(name: str):
    """Make ``name`` Keras' global dtype policy inside the block (layers built there keep it)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def execution_steps(requested: int, steps_per_epoch: int, strategy=None) -> int:
    """The ``steps_per_execution`` to use: the largest divisor of ``steps_per_epoch`` <= ``requested``.

    Keras runs whole groups of ``steps_per_execution`` steps, so a group size that does not divide the
    epoch would run extra steps. Under a multi-replica strategy other than TPU (``MirroredStrategy``,
    multi-worker) it is 1: Keras 3's multi-step loop fails there (a "must feed a value for placeholder
    tensor" error seen with Keras 3.15 / TensorFlow 2.21).

    Args:
        requested: the configured steps per graph call.
        steps_per_epoch: steps in one epoch.
        strategy: the ``tf.distribute`` strategy (default: the current one).
    """
    strategy = strategy or tf.distribute.get_strategy()
    if strategy.num_replicas_in_sync > 1 and not is_tpu(strategy):
        return 1
    requested = max(1, min(int(requested), int(steps_per_epoch)))
    return next(k for k in range(requested, 0, -1) if steps_per_epoch % k == 0)


def build_gan(config: DCGANConfig, strategy=None) -> DCGAN:
    """Build and compile the ``DCGAN`` of a config inside ``strategy.scope()``.

    The nets are built under the dtype policy of :func:`resolve_precision` (``config.precision``); the
    global Keras policy is left as it was.
    """
    strategy = strategy or tf.distribute.get_strategy()
    precision = resolve_precision(config.precision, strategy)
    with strategy.scope(), dtype_policy(precision):
        gen, disc = build_models(
            config.architecture,
            latent_dim=config.latent_dim,
            image_size=config.image_size,
            generator=config.generator,
            discriminator=config.discriminator,
        )
        gan = DCGAN(
            gen,
            disc,
            label_smoothing=config.label_smoothing,
            instance_noise=config.instance_noise,
            augment=config.augment,
        )
        gan.compile(
            learning_rate=config.learning_rate,
            beta_1=config.beta_1,
            steps_per_execution=config.steps_per_execution,
        )
    return gan


def _save_generator(generator: keras.Model, path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.partial.keras")
    generator.save(tmp)
    tmp.replace(path)
    return path


def train(config: DCGANConfig, strategy=None, callbacks=None) -> TrainResult:
    """Train (or resume) a DCGAN as described by ``config``.

    Args:
        config: the run settings.
        strategy: a ``tf.distribute`` strategy (default: the current one).
        callbacks: extra Keras callbacks.

    Returns:
        A :class:`TrainResult` with the model, full history and output paths.

    Raises:
        ValueError: bad images folder, too few images, or a checkpoint in ``out_dir`` that does not match
            the config (latent size, architecture, image size).
    """
    config.validate()
    strategy = strategy or tf.distribute.get_strategy()
    out_dir = Path(config.out_dir)
    ckpt = latest_checkpoint(out_dir) if config.resume else None
    if ckpt is not None:
        _check_resumable(ckpt, config)
    global_batch = global_batch_size(config.batch_size, strategy)
    ds, steps, n_images = face_dataset(config, global_batch)
    spe = execution_steps(config.steps_per_execution, steps, strategy)
    gan = build_gan(dataclasses.replace(config, steps_per_execution=spe), strategy)
    history, initial_epoch = {}, 0
    if ckpt is not None:
        with strategy.scope():
            state = restore_checkpoint(gan, ckpt)
        history, initial_epoch = state.get("history", {}), int(state["epoch"])
        log.info("resuming from %s (epoch %d of %d)", ckpt, initial_epoch, config.epochs)
    log.info(
        "DCGAN %s: %d images, global batch %d, %d steps/epoch (%d per graph call), %s, %s",
        config.architecture,
        n_images,
        global_batch,
        steps,
        spe,
        resolve_precision(config.precision, strategy),
        describe(strategy),
    )
    noise = latent_points(config.grid_size, config.latent_dim, config.seed)
    grids = SampleGrid(noise, out_dir)
    saver = EpochCheckpoint(out_dir, _run_state(config), history, keep=config.keep_checkpoints)
    if initial_epoch < config.epochs:
        gan.fit(
            ds,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps,
            shuffle=False,  # the pipeline shuffles
            callbacks=[grids, saver, *(callbacks or [])],
            verbose=config.verbose,
        )
    else:
        log.info(
            "%s already holds %d epochs (asked for %d): nothing to train", ckpt, initial_epoch, config.epochs
        )
    saver.plot()
    generator_path = _save_generator(as_float32(gan.generator), out_dir / "generator.keras")
    interpolation = out_dir / "interpolation.png"
    interpolate(gan.generator, interpolation, seed=config.seed)
    return TrainResult(
        model=gan,
        history=saver.history,
        out_dir=out_dir,
        grids=sorted((out_dir / "grids").glob("epoch_*.png")),
        loss_curves=saver.loss_curves,
        accuracy_curves=saver.accuracy_curves,
        checkpoint=latest_checkpoint(out_dir),
        generator_path=generator_path,
        interpolation=interpolation,
        images_used=n_images,
    )
