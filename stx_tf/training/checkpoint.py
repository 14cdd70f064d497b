"""Epoch checkpoints of any painter: every variable that training changes, on either Keras backend.

A checkpoint is a folder ``checkpoints/epoch_NNNN/`` (and ``checkpoints/best/``) holding

* ``state.npz`` - the values of every variable of the run's named items (nets, optimisers with their
  moments and step counts, so learning-rate schedules continue; image pools; random-generator states),
  keyed ``<item>/<index>`` in each item's variable order;
* ``items.json`` - the epoch, and per item the number and shapes of its variables (for clear errors).

Values are plain NumPy arrays, so a checkpoint written under the JAX backend loads under TensorFlow and
back (nets and image pools; an optimiser's layout may differ between backends, see the painters).
Folders are written under a temporary name and renamed when complete (:func:`stx_tf.atomic.atomic_dir`),
and **a state holding NaN or inf is never written**: the previous good checkpoint stays the resume point.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from stx_tf import atomic
from stx_tf.settings import get_logger

log = get_logger(__name__)

CHECKPOINTS = "checkpoints"
STATE = "state.npz"
ITEMS = "items.json"
BEST = "best"


class NonFiniteStateError(ValueError):
    """Raised instead of writing a checkpoint whose variables hold NaN or inf."""


def _variables(item) -> list:
    """The variables of an item: a Keras layer / model / optimiser / metric, or a list of variables."""
    if isinstance(item, list | tuple):
        return list(item)
    return list(item.variables)


def _values(variables) -> list[np.ndarray]:
    import keras

    return [np.asarray(keras.ops.convert_to_numpy(v.value)) for v in variables]


def checkpoint_dir(run_dir, epoch: int) -> Path:
    """Where the checkpoint after ``epoch`` (1-based) goes."""
    return Path(run_dir) / CHECKPOINTS / f"epoch_{epoch:04d}"


def list_checkpoints(run_dir) -> list[Path]:
    """Complete epoch checkpoints under ``run_dir``, oldest first."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("epoch_[0-9][0-9][0-9][0-9]") if (p / ITEMS).is_file())


def read_items(ckpt) -> dict:
    """The ``items.json`` of a checkpoint folder."""
    path = Path(ckpt) / ITEMS
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{ckpt}: not a readable checkpoint ({err})") from None


def load_arrays(ckpt, item: str) -> list[np.ndarray]:
    """The saved values of one item of a checkpoint, in variable order (e.g. a generator's weights for
    export, without building the rest of the run).

    Raises:
        ValueError: no such checkpoint or item.
    """
    ckpt = Path(ckpt)
    manifest = read_items(ckpt)
    if item not in manifest.get("items", {}):
        raise ValueError(f"{ckpt}: the checkpoint holds no {item!r} (it has {sorted(manifest['items'])})")
    with np.load(ckpt / STATE, allow_pickle=False) as data:
        return [data[f"{item}/{i:04d}"] for i in range(len(manifest["items"][item]))]


def check_fit(variables, arrays, where: str) -> None:
    """Raise a ``ValueError`` (naming ``where``) unless ``arrays`` fit ``variables`` in count and shapes."""
    variables = list(variables)
    if len(arrays) != len(variables):
        raise ValueError(f"{where}: checkpoint has {len(arrays)} arrays, the model needs {len(variables)}")
    for i, (var, value) in enumerate(zip(variables, arrays)):
        if tuple(value.shape) != tuple(var.shape):
            raise ValueError(
                f"{where}: array {i} ({getattr(var, 'path', var.name)}) has shape {tuple(value.shape)}, "
                f"the model needs {tuple(var.shape)}"
            )


def assign(variables, arrays, where: str) -> None:
    """Assign ``arrays`` to ``variables`` in order, after :func:`check_fit`."""
    variables = list(variables)
    check_fit(variables, arrays, where)
    for var, value in zip(variables, arrays):
        var.assign(value)


class Checkpointer:
    """Save and restore the named items of a run after every epoch.

    Args:
        run_dir: the run folder.
        items: ``{name: Keras object with .variables}`` (nets, optimisers, pools, seed generators) or
            ``{name: list of variables}``. Optimisers must be built (their slot variables exist) before
            the first save or restore.
        keep: epoch checkpoints kept (the newest); the ``best`` checkpoint is kept apart.
    """

    def __init__(self, run_dir, items: Mapping[str, object], keep: int | None = 2):
        self.run_dir = Path(run_dir)
        self.items = dict(items)
        self.keep = keep

    @property
    def latest(self) -> Path | None:
        found = list_checkpoints(self.run_dir)
        return found[-1] if found else None

    @property
    def best_dir(self) -> Path:
        return self.run_dir / CHECKPOINTS / BEST

    def state(self) -> dict[str, list[np.ndarray]]:
        """The current values of every item's variables."""
        return {name: _values(_variables(item)) for name, item in self.items.items()}

    def save(self, epoch: int, best: bool = False) -> Path:
        """Write the checkpoint after ``epoch`` (1-based), prune old ones; ``best`` writes the ``best``
        checkpoint instead.

        Raises:
            NonFiniteStateError: a variable holds NaN / inf (nothing is written).
        """
        state = self.state()
        for name, arrays in state.items():
            for i, value in enumerate(arrays):
                if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
                    raise NonFiniteStateError(
                        f"not checkpointing epoch {epoch}: {name} variable {i} holds NaN or inf"
                    )
        target = self.best_dir if best else checkpoint_dir(self.run_dir, epoch)
        manifest = {
            "epoch": int(epoch),
            "items": {name: [list(a.shape) for a in arrays] for name, arrays in state.items()},
        }
        flat = {f"{name}/{i:04d}": a for name, arrays in state.items() for i, a in enumerate(arrays)}
        with atomic.atomic_dir(target) as tmp:
            np.savez(tmp / STATE, **flat)
            (tmp / ITEMS).write_text(json.dumps(manifest, indent=1))
        if not best and self.keep:
            for old in list_checkpoints(self.run_dir)[: -self.keep]:
                shutil.rmtree(old, ignore_errors=True)
        return target

    def restore(self, ckpt=None, keep_step_counts: bool = False) -> int:
        """Load a checkpoint (default: the latest) into the items; return its epoch.

        ``keep_step_counts`` leaves every optimiser's ``iterations`` as it is now (restarting from the best
        epoch without rewinding the learning-rate schedule).

        Raises:
            ValueError: no checkpoint, or one that does not fit the items (names, counts, shapes).
        """
        ckpt = Path(ckpt) if ckpt else self.latest
        if ckpt is None:
            raise ValueError(f"{self.run_dir / CHECKPOINTS}: no checkpoint to resume from")
        manifest = read_items(ckpt)
        missing = sorted(set(self.items) - set(manifest.get("items", {})))
        if missing:
            raise ValueError(f"{ckpt}: checkpoint does not fit this model (no {', '.join(missing)})")
        loaded = [(_variables(item), load_arrays(ckpt, name), f"{ckpt}: {name}") for name, item in self.items.items()]
        for variables, arrays, where in loaded:  # all checked before anything changes
            check_fit(variables, arrays, where)
        counters = [item.iterations for item in self.items.values() if hasattr(item, "iterations")]
        counts = [np.asarray(c.value) for c in counters] if keep_step_counts else []
        for variables, arrays, _ in loaded:
            for var, value in zip(variables, arrays):
                var.assign(value)
        for counter, count in zip(counters, counts):
            counter.assign(count)
        return int(manifest["epoch"])
