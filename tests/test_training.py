"""The run skeleton: run folder and resume policy, checkpoints, guards, grids, curves - and its contract
on a tiny regression model (every painter's tests run the same contract, see tests/contract.py)."""

from __future__ import annotations

import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from contract import Painter, check_contract

from stx_tf import training
from stx_tf.training import Checkpointer, NonFiniteStateError, RunFolder, execution_steps, parse_duration


def _tiny_model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def _data():
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, x.sum(1, keepdims=True))).batch(2)


def _render(model, path, epoch):
    from stx_tf.viz import plot_curves

    plot_curves({"w": list(np.ravel(model.layers[0].kernel.numpy()))}, path=path, title=f"epoch {epoch}")


def _train(out_dir, epochs, callbacks, budget):
    model = _tiny_model()
    run = RunFolder(out_dir, "tiny", {"epochs": epochs}, {"units": 4})
    items = {"model": model, "optimizer": model.optimizer}
    result = training.fit_run(
        model, _data(), run=run, items=items, epochs=epochs, render=_render, time_budget=budget,
        callbacks=callbacks, verbose=0,
    )
    return types.SimpleNamespace(run=result, model=model)


def test_contract_on_a_tiny_model(tmp_path):
    painter = Painter(
        train=_train,
        items=lambda m: {"model": m, "optimizer": m.optimizer},
        optimizer=lambda m: m.optimizer,
    )
    check_contract(painter, tmp_path)


def test_resume_policy(tmp_path):
    with pytest.raises(ValueError, match="nothing to resume"):
        RunFolder(tmp_path / "a", "tiny", {}, resume=True)
    RunFolder(tmp_path / "a", "tiny", {"units": 4}).write()
    with pytest.raises(ValueError, match="already holds a run"):
        RunFolder(tmp_path / "a", "tiny", {}, resume=False)
    with pytest.raises(ValueError, match="holds a tiny run, not a dcgan run"):
        RunFolder(tmp_path / "a", "dcgan", {})
    with pytest.raises(ValueError, match="incompatible checkpoint.*units=4 \\(asked for 8\\)"):
        RunFolder(tmp_path / "a", "tiny", {"units": 8}, {"units": 8})
    assert RunFolder(tmp_path / "a", "tiny", {"units": 4}, {"units": 4}).resuming
    with pytest.raises(ValueError, match="resume must be"):
        RunFolder(tmp_path / "b", "tiny", {}, resume="yes")


def test_checkpoint_never_holds_non_finite_weights(tmp_path):
    model = _tiny_model()
    ckpt = Checkpointer(tmp_path, {"model": model}, keep=2)
    for epoch in (1, 2, 3):
        ckpt.save(epoch)
    assert [p.name for p in training.list_checkpoints(tmp_path)] == ["epoch_0002", "epoch_0003"]
    good = model.layers[0].kernel.numpy().copy()
    model.layers[0].kernel.assign(np.full(good.shape, np.nan, "float32"))
    with pytest.raises(NonFiniteStateError, match="epoch 4: model variable 0 holds NaN"):
        ckpt.save(4)
    assert ckpt.latest.name == "epoch_0003"
    assert ckpt.restore() == 3
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), good)


def test_restore_checks_shapes_before_changing_anything(tmp_path):
    model = _tiny_model()
    Checkpointer(tmp_path, {"a": model, "b": model.layers[1]}).save(1)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5), keras.layers.Dense(1)])
    before = [v.numpy().copy() for v in other.variables]
    with pytest.raises(ValueError, match="has shape \\(3, 4\\), the model needs \\(3, 5\\)"):
        Checkpointer(tmp_path, {"b": model.layers[1], "a": other}).restore()
    for v, old in zip(other.variables, before):
        np.testing.assert_array_equal(v.numpy(), old)
    with pytest.raises(ValueError, match="no c"):
        Checkpointer(tmp_path, {"c": model}).restore()


def test_best_checkpoint_follows_the_lowest_score(tmp_path):
    class Score(keras.callbacks.Callback):
        def __init__(self, scores):
            super().__init__()
            self.scores = scores

        def on_epoch_end(self, epoch, logs=None):
            logs["mifid"] = self.scores[epoch]

    model = _tiny_model()
    run = RunFolder(tmp_path, "tiny", {})
    result = training.fit_run(
        model, _data(), run=run, items={"model": model}, epochs=3, best_key="mifid",
        callbacks=[Score([5.0, 3.0, 4.0])], verbose=0,
    )
    assert result.best == {"epoch": 2, "metric": "mifid", "score": 3.0}
    assert training.read_run(tmp_path)["best"]["epoch"] == 2
    assert training.checkpoint.read_items(tmp_path / "checkpoints" / "best")["epoch"] == 2
    assert result.history["mifid"] == [5.0, 3.0, 4.0]


def test_durations_and_execution_steps():
    assert parse_duration("2h50m") == 10200 and parse_duration("45s") == 45 and parse_duration(90) == 90
    for bad in ("soon", "", "-3", "0"):
        with pytest.raises(ValueError, match="time budget"):
            parse_duration(bad)
    assert execution_steps(8, 30) == 6 and execution_steps(8, 7) == 7 and execution_steps(4, 13) == 1
    assert execution_steps(8, 32, replicas=2) == 1 and execution_steps(8, 32, replicas=8, tpu=True) == 8


def test_restart_from_best_keeps_the_step_count(tmp_path):
    class Score(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["mifid"] = [5.0, 3.0, 4.0, 4.5, 6.0][epoch]
            self.weights = [w.copy() for w in self.model.get_weights()]

    model = _tiny_model()
    run = RunFolder(tmp_path, "tiny", {})
    scores = Score()
    kernels = {}

    class Kernel(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            kernels[epoch + 1] = model.layers[0].kernel.numpy().copy()

    result = training.fit_run(
        model, _data(), run=run, items={"model": model, "optimizer": model.optimizer}, epochs=4,
        best_key="mifid", restart_from_best=2, callbacks=[scores, Kernel()], verbose=0,
    )
    saved = training.read_run(tmp_path)
    # epochs 3 and 4 did not beat epoch 2: after epoch 4 the weights went back to epoch 2's...
    assert saved["restarts"] == [{"after_epoch": 4, "from_epoch": 2}] and result.best["epoch"] == 2
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), kernels[2])
    # ... but the optimiser's step count was not rewound (4 epochs x 4 steps): the schedule goes on.
    assert int(model.optimizer.iterations) == 16
