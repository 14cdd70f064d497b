"""CycleGAN run folders: checkpoints with exact resume, and loading a generator for export.

A run folder holds

* ``run.json`` - the :class:`~stx_tf.cyclegan.config.CycleGANConfig`, the epochs done and the metric
  history, rewritten atomically after every epoch;
* ``checkpoints/ckpt-N.*`` - ``tf.train.Checkpoint`` files (works on local disks and ``gs://``, with
  any strategy): all four nets, all four optimiser states (moments and step counts, so the learning-rate
  schedule continues), both image pools and the epoch counter;
* ``monet_generator.keras`` - the photo → Monet generator alone, written when training ends: what
  ``stx cyclegan export`` loads.

A run only resumes with the same architecture (:data:`~stx_tf.cyclegan.config.ARCHITECTURE`); anything
else is a ``ValueError`` that says what differs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import tensorflow as tf

from stx_tf.cyclegan.config import CycleGANConfig, build_generator_from
from stx_tf.settings import get_logger

log = get_logger(__name__)

RUN_FILE = "run.json"
CHECKPOINTS = "checkpoints"
GENERATOR_FILE = "monet_generator.keras"


def write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(path)


def read_run(run_dir) -> dict:
    """The ``run.json`` of a run folder.

    Raises:
        ValueError: no ``run.json`` or unreadable.
    """
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        raise ValueError(f"{run_dir}: not a CycleGAN run folder (no {RUN_FILE})")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable run state ({err})") from None


def check_compatible(saved: dict, config: CycleGANConfig, where) -> None:
    """Raise a ``ValueError`` naming every architecture field where ``saved`` differs from ``config``."""
    wanted = config.architecture()
    diffs = [
        f"{k}={saved.get(k)!r} (asked for {v!r})" for k, v in wanted.items() if k in saved and saved[k] != v
    ]
    if diffs:
        raise ValueError(
            f"{where}: incompatible checkpoint: it was trained with {', '.join(diffs)}. "
            "Use the same settings to resume, or another output folder for a new run."
        )


class RunCheckpoint:
    """Save and restore everything a CycleGAN run needs to continue exactly.

    Args:
        model: a compiled :class:`~stx_tf.cyclegan.model.CycleGAN`.
        run_dir: the run folder.
        keep: checkpoints kept.
    """

    def __init__(self, model, run_dir, keep: int = 2):
        self.run_dir = Path(run_dir)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        model.build_optimizers()
        self.checkpoint = tf.train.Checkpoint(
            monet_generator=model.monet_generator,
            photo_generator=model.photo_generator,
            monet_discriminator=model.monet_discriminator,
            photo_discriminator=model.photo_discriminator,
            monet_gen_optimizer=model.monet_gen_optimizer,
            photo_gen_optimizer=model.photo_gen_optimizer,
            monet_disc_optimizer=model.monet_disc_optimizer,
            photo_disc_optimizer=model.photo_disc_optimizer,
            monet_pool=model.monet_pool,
            photo_pool=model.photo_pool,
            epoch=self.epoch,
        )
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.run_dir / CHECKPOINTS), max_to_keep=keep
        )

    @property
    def latest(self) -> str | None:
        return self.manager.latest_checkpoint

    def save(self, epoch: int, config: CycleGANConfig, history: dict) -> str:
        """Write the checkpoint after ``epoch`` (1-based) and the run state."""
        self.epoch.assign(epoch)
        path = self.manager.save(checkpoint_number=epoch)
        write_json_atomic(
            self.run_dir / RUN_FILE,
            {
                "config": config.to_dict(),
                "epoch": int(epoch),
                "checkpoint": os.path.basename(path),
                "history": history,
            },
        )
        return path

    def restore(self, path: str | None = None) -> int:
        """Load a checkpoint (default: the latest) into the model; return its epoch.

        Raises:
            ValueError: no checkpoint, or one whose variables do not fit the model.
        """
        path = path or self.latest
        if not path:
            raise ValueError(f"{self.run_dir / CHECKPOINTS}: no checkpoint to resume from")
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as err:
            raise ValueError(
                f"{path}: checkpoint does not fit this model ({str(err).splitlines()[0]})"
            ) from None
        return int(self.epoch.numpy())


def save_generator(generator: keras.Model, path) -> Path:
    """Save a generator as a ``.keras`` file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.keras")
    generator.save(tmp)
    tmp.replace(path)
    return path


def load_generator(path) -> keras.Model:
    """Load the photo → Monet generator for export.

    Args:
        path: a ``.keras`` file, or a run folder (its ``monet_generator.keras`` if written, else the
            generator of its latest checkpoint).

    Raises:
        ValueError: nothing loadable there.
    """
    path = Path(path)
    if path.is_dir():
        ckpt_dir = path / CHECKPOINTS
        latest = tf.train.latest_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
        saved = path / GENERATOR_FILE
        if saved.is_file() and (
            latest is None or saved.stat().st_mtime >= Path(latest + ".index").stat().st_mtime
        ):
            return load_generator(saved)
        if latest is None:
            raise ValueError(f"{path}: no {GENERATOR_FILE} and no checkpoint in {CHECKPOINTS}/")
        config = CycleGANConfig.from_dict(read_run(path)["config"])
        generator = build_generator_from(config, "monet_generator")
        status = tf.train.Checkpoint(monet_generator=generator).restore(latest)
        try:
            status.expect_partial().assert_existing_objects_matched()
        except AssertionError as err:
            raise ValueError(f"{latest}: generator weights do not fit ({str(err).splitlines()[0]})") from None
        log.info("loaded the photo->Monet generator of %s", latest)
        return generator
    if not path.is_file():
        raise ValueError(f"{path}: no such generator file or run folder")
    if path.suffix != ".keras":
        raise ValueError(f"{path}: expected a .keras generator file or a CycleGAN run folder")
    import stx_tf.cyclegan.layers  # noqa: F401 - registers ReflectionPadding2D for deserialisation

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:  # keras raises many types for a bad archive
        raise ValueError(f"{path}: not a loadable Keras model ({err})") from None
