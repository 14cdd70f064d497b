"""The training contract every painter passes (in the style of keras-hub's shared ``run_backbone_test``).

A painter is described by a :class:`Painter`: how to train it into a folder for some epochs (with
extra callbacks and a time budget), and which run items its checkpoints hold. :func:`check_contract`
then checks, on tiny data:

1. a run writes its checkpoint, ``run.json``, the sample grid and the curves;
2. resume continues exactly: the state after the restore equals the checkpoint bit for bit, the epoch
   and the optimiser step counts go on, the history keeps the earlier epochs;
3. a NaN stops the run and restores the last good checkpoint (no non-finite checkpoint is written);
4. the time budget stops the run in time, still ending with a checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from stx_tf.training import RUN_FILE, list_checkpoints, load_arrays, read_run


@dataclasses.dataclass
class Painter:
    """How the contract drives one painter.

    Attributes:
        train: ``train(out_dir, epochs, callbacks, time_budget) -> result`` where ``result.run`` is the
            :class:`~stx_tf.training.RunResult` and ``result.model`` the trained Keras model.
        items: ``items(model) -> {name: object with .variables}``: what a checkpoint holds.
        optimizer: ``optimizer(model) -> keras optimizer`` whose ``iterations`` count the steps.
    """

    train: Callable
    items: Callable
    optimizer: Callable


def _values(obj) -> list[np.ndarray]:
    variables = obj if isinstance(obj, list | tuple) else obj.variables
    return [np.asarray(keras.ops.convert_to_numpy(v.value)) for v in variables]


class CaptureAtStart(keras.callbacks.Callback):
    """Records the run items' values when ``fit`` begins (right after a restore)."""

    def __init__(self, items: Callable):
        super().__init__()
        self.items_fn = items
        self.values = None

    def on_train_begin(self, logs=None):
        self.values = {name: _values(obj) for name, obj in self.items_fn(self.model).items()}


class PoisonAt(keras.callbacks.Callback):
    """Sets the first trainable weight of the model to NaN before the second batch of ``epoch`` (1-based)."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch
        self._current = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current = epoch + 1

    def on_train_batch_begin(self, batch, logs=None):
        if self._current == self.epoch and batch == 1:
            if hasattr(self.model, "jax_state_sync"):  # JAX: bring the step's state into the variables first
                self.model.jax_state_sync()
            var = self.model.trainable_variables[0]
            var.assign(keras.ops.full(var.shape, float("nan"), dtype=var.dtype))


def check_contract(painter: Painter, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"

    # 1. one epoch: checkpoint, run.json, grid, curves
    first = painter.train(run_dir, 1, [], None)
    assert first.run.epochs_done == 1 and first.run.initial_epoch == 0
    assert [p.name for p in list_checkpoints(run_dir)] == ["epoch_0001"]
    saved = read_run(run_dir)
    assert saved["epoch"] == 1 and all(len(v) == 1 for v in saved["history"].values())
    assert (run_dir / "samples" / "epoch_001.png").stat().st_size > 1000
    assert first.run.curves and all(Path(p).stat().st_size > 1000 for p in first.run.curves)
    steps = int(painter.optimizer(first.model).iterations)
    assert steps >= 2, "the contract needs at least 2 steps per epoch"

    # 2. resume: the restored state is the checkpoint, bit for bit; epochs and steps continue
    capture = CaptureAtStart(painter.items)
    second = painter.train(run_dir, 2, [capture], None)
    assert second.run.initial_epoch == 1 and second.run.epochs_done == 2
    ckpt = run_dir / "checkpoints" / "epoch_0001"
    for name, values in capture.values.items():
        for i, (got, want) in enumerate(zip(values, load_arrays(ckpt, name))):
            np.testing.assert_array_equal(got, want, err_msg=f"{name} variable {i} not restored exactly")
    assert int(painter.optimizer(second.model).iterations) == 2 * steps
    history = read_run(run_dir)["history"]
    first_history = saved["history"]
    assert all(history[k][0] == first_history[k][0] and len(history[k]) == 2 for k in first_history)

    # 3. NaN in epoch 3: stopped, restored to epoch 2, nothing non-finite written
    poisoned = painter.train(run_dir, 3, [PoisonAt(3)], None)
    assert poisoned.run.stopped and "non-finite" in poisoned.run.stopped
    assert "restored the last good checkpoint" in poisoned.run.stopped
    assert [p.name for p in list_checkpoints(run_dir)][-1] == "epoch_0002"
    assert read_run(run_dir)["epoch"] == 2
    for name, obj in painter.items(poisoned.model).items():
        for got, want in zip(_values(obj), load_arrays(run_dir / "checkpoints" / "epoch_0002", name)):
            np.testing.assert_array_equal(got, want, err_msg=f"{name} not restored after the NaN")

    # 4. a time budget shorter than one step: stops during the first epoch, which still checkpoints
    budget_dir = tmp_path / "budget"
    short = painter.train(budget_dir, 5, [], 1e-3)
    assert short.run.stopped and "time budget" in short.run.stopped
    assert short.run.epochs_done == 1 and int(painter.optimizer(short.model).iterations) < steps
    assert json.loads((budget_dir / RUN_FILE).read_text())["epoch"] == 1
