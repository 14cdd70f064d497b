"""Per-epoch DCGAN checkpoints: save, find the latest, resume, and load a generator for sampling.

A checkpoint is a folder ``<out_dir>/checkpoints/epoch_NNNN/`` holding

* ``generator.keras`` - the whole generator (architecture + weights, float32 whatever the training
  precision): what ``stx dcgan sample`` loads;
* ``discriminator.weights.h5`` - the discriminator's weights;
* ``optimizers.npz`` - both Adam states (so a resumed run continues exactly);
* ``state.json`` - epoch, latent size, architecture and its config, and the metric history so far.

Folders are written under a temporary name and renamed when complete, so a crash never leaves a
half-written checkpoint that looks finished.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import numpy as np

from stx_tf.dcgan.models import as_float32, latent_dim_of

CHECKPOINTS = "checkpoints"
STATE = "state.json"
GENERATOR = "generator.keras"
DISCRIMINATOR = "discriminator.weights.h5"
OPTIMIZERS = "optimizers.npz"


def checkpoint_dir(out_dir, epoch: int) -> Path:
    """Where the checkpoint after ``epoch`` (1-based) goes."""
    return Path(out_dir) / CHECKPOINTS / f"epoch_{epoch:04d}"


def list_checkpoints(out_dir) -> list[Path]:
    """Complete checkpoints under ``out_dir``, oldest first."""
    root = Path(out_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("epoch_[0-9][0-9][0-9][0-9]") if (p / STATE).is_file())


def latest_checkpoint(out_dir) -> Path | None:
    """The newest complete checkpoint under ``out_dir``, or ``None``."""
    found = list_checkpoints(out_dir)
    return found[-1] if found else None


def read_state(ckpt) -> dict:
    """The ``state.json`` of a checkpoint folder."""
    path = Path(ckpt) / STATE
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a readable DCGAN checkpoint state ({err})") from None


def _optimizer_arrays(optimizer, prefix: str) -> dict:
    return {f"{prefix}{i:04d}": np.asarray(v) for i, v in enumerate(optimizer.variables)}


def save_checkpoint(gan, out_dir, epoch: int, state: dict, keep: int | None = 2) -> Path:
    """Write the checkpoint after ``epoch`` atomically and prune all but the newest ``keep``.

    Args:
        gan: a compiled :class:`stx_tf.dcgan.model.DCGAN`.
        out_dir: the run folder.
        epoch: epochs completed (1-based).
        state: JSON-able metadata (architecture, config, history); ``epoch`` and ``latent_dim`` are added.
        keep: how many checkpoints to keep (``None`` keeps all).
    """
    final = checkpoint_dir(out_dir, epoch)
    tmp = final.with_name(final.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    as_float32(gan.generator).save(tmp / GENERATOR)
    gan.discriminator.save_weights(tmp / DISCRIMINATOR)
    arrays = {**_optimizer_arrays(gan.g_optimizer, "g"), **_optimizer_arrays(gan.d_optimizer, "d")}
    np.savez(tmp / OPTIMIZERS, **arrays)
    (tmp / STATE).write_text(
        json.dumps({**state, "epoch": int(epoch), "latent_dim": gan.latent_dim}, indent=1)
    )
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    if keep:
        for old in list_checkpoints(out_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _restore_optimizer(optimizer, variables, arrays: dict, prefix: str, ckpt: Path) -> None:
    if not optimizer.built:
        optimizer.build(variables)
    keys = sorted(k for k in arrays if k.startswith(prefix))
    if len(keys) != len(optimizer.variables):
        raise ValueError(
            f"{ckpt}: optimiser state has {len(keys)} arrays, the model needs {len(optimizer.variables)}"
        )
    for key, var in zip(keys, optimizer.variables):
        if tuple(arrays[key].shape) != tuple(var.shape):
            raise ValueError(
                f"{ckpt}: optimiser array {key} has shape {arrays[key].shape}, expected {var.shape}"
            )
        var.assign(arrays[key])


def restore_checkpoint(gan, ckpt) -> dict:
    """Load weights and optimiser states from a checkpoint folder into a compiled ``DCGAN``.

    Returns:
        The checkpoint's state (``epoch``, ``history``, ...).

    Raises:
        ValueError: the checkpoint does not fit the model (latent size, layer shapes).
    """
    ckpt = Path(ckpt)
    state = read_state(ckpt)
    saved = state.get("latent_dim")
    if saved is not None and int(saved) != gan.latent_dim:
        raise ValueError(
            f"{ckpt}: checkpoint was trained with latent_dim={saved}, but the model uses "
            f"latent_dim={gan.latent_dim}; pass latent_dim={saved} or start a new run (another out_dir)"
        )
    try:
        gan.generator.load_weights(ckpt / GENERATOR)
        gan.discriminator.load_weights(ckpt / DISCRIMINATOR)
    except (ValueError, KeyError) as err:
        raise ValueError(f"{ckpt}: weights do not fit this model ({err})") from None
    with np.load(ckpt / OPTIMIZERS) as data:
        arrays = {k: data[k] for k in data.files}
    _restore_optimizer(gan.g_optimizer, gan.generator.trainable_variables, arrays, "g", ckpt)
    _restore_optimizer(gan.d_optimizer, gan.discriminator.trainable_variables, arrays, "d", ckpt)
    return state


def load_generator(path, latent_dim: int | None = None) -> keras.Model:
    """Load a trained generator for sampling.

    Args:
        path: a ``.keras`` generator file, a checkpoint folder, or a run folder (its latest checkpoint).
        latent_dim: if given, the latent size the caller expects (checked against the file).

    Raises:
        ValueError: nothing loadable at ``path``, or a latent size mismatch.
    """
    path = Path(path)
    if path.is_dir():
        ckpt = path if (path / GENERATOR).is_file() else latest_checkpoint(path)
        if ckpt is None:
            raise ValueError(f"{path}: no generator.keras and no checkpoints/epoch_NNNN/ inside")
        path = ckpt / GENERATOR
    if not path.is_file():
        raise ValueError(f"{path}: no such generator file")
    if path.suffix != ".keras":
        raise ValueError(f"{path}: expected a .keras generator file, a checkpoint folder or a run folder")
    try:
        generator = keras.models.load_model(path, compile=False)
    except Exception as err:  # keras raises many types for a bad archive
        raise ValueError(f"{path}: not a loadable Keras model ({err})") from None
    found = latent_dim_of(generator)
    if latent_dim is not None and int(latent_dim) != found:
        raise ValueError(f"{path}: generator takes latent_dim={found}, not {latent_dim}")
    return generator
