"""stx_tf.strategy under Keras' JAX backend: DataParallel over the (two virtual CPU) devices, the global
batch, how a batch is split, one data-parallel step equal to one single-device step, and the whole
``setup_notebook`` on a simulated Kaggle TPU v5e-8 VM.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import pytest

from stx_tf import backend, strategy
from stx_tf.runtime import setup_notebook


def test_this_process_runs_jax_on_two_devices():
    import jax

    assert keras.backend.backend() == "jax"
    assert [d.platform for d in jax.devices()] == ["cpu", "cpu"]


def test_data_parallel_global_batch_and_sharding():
    dist = strategy.get_distribution()
    assert keras.distribution.distribution() is dist  # set globally: fit() shards its batches
    assert strategy.describe(dist) == "DataParallel over 2 CPU devices"
    assert strategy.replicas(dist) == 2 and strategy.replicas() == 2
    assert strategy.global_batch_size(4, dist) == strategy.global_batch_size(4) == 8
    assert not strategy.is_tpu(dist) and strategy.device_kind(dist) == "cpu"

    batch = np.arange(8 * 3, dtype="float32").reshape(8, 3)
    sharded = keras.distribution.distribute_tensor(batch, dist.get_data_layout(batch.shape))
    shards = sorted(sharded.addressable_shards, key=lambda s: s.index[0].start)
    assert [s.data.shape for s in shards] == [(4, 3), (4, 3)]  # each device takes its per-replica half
    assert {s.device.id for s in shards} == {0, 1}
    np.testing.assert_array_equal(np.concatenate([np.asarray(s.data) for s in shards]), batch)


def _one_step(distribution) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(weights before, weights after)`` one SGD step of a small MLP on one global batch of 8."""
    keras.distribution.set_distribution(distribution)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [np.asarray(w) for w in model.get_weights()]
    x = np.linspace(-1, 1, 8 * 3, dtype="float32").reshape(8, 3)
    y = np.sin(x.sum(axis=1, keepdims=True))
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    return before, [np.asarray(w) for w in model.get_weights()]


def test_one_data_parallel_step_equals_one_single_device_step():
    start, single = _one_step(None)
    start_parallel, parallel = _one_step(strategy.get_distribution(verbose=False))
    for a, b in zip(start + single, start_parallel + parallel, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert all(np.abs(a - b).max() > 1e-4 for a, b in zip(start, single, strict=True))  # the step moved them


def test_a_tpu_jax_cannot_see_is_an_error_not_a_cpu_run():
    with pytest.raises(RuntimeError, match="a TPU is attached but JAX sees only CPU devices"):
        strategy.get_distribution(expect="tpu")


def test_setup_notebook_on_a_simulated_kaggle_tpu_vm(tmp_path, monkeypatch, capsys):
    """ISTPUVM=1, a v5litepod-8, tensorflow-cpu beside jax[tpu] (Kaggle's TPU image), the competition
    mounted under /kaggle/input: JAX, DataParallel over the 8 TPU devices, local files, 3 hours."""
    for name, value in {
        "ISTPUVM": "1",
        "TPU_ACCELERATOR_TYPE": "v5litepod-8",
        "KAGGLE_KERNEL_RUN_TYPE": "Batch",
        "STX_KAGGLE_INPUT": str(tmp_path / "input"),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("KERAS_BACKEND", "STX_BACKEND", "TPU_NAME", "COLAB_TPU_ADDR", "STX_SMOKE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(backend, "_set_here", None)
    packages = {"tensorflow-cpu": "2.20.0", "jax": "0.7.1", "libtpu": "0.0.21"}
    (tmp_path / "dev").mkdir()
    real_probe = backend.probe
    monkeypatch.setattr(backend, "probe", lambda *a, **k: real_probe(tmp_path / "dev", versions=packages.get))
    monkeypatch.setattr(keras.distribution, "list_devices", lambda *a: [f"tpu:{i}" for i in range(8)])
    monkeypatch.setattr(
        "stx_tf.data.discover.kaggle_gcs_path", lambda: pytest.fail("a TPU VM reads local files")
    )
    root = tmp_path / "input" / "competitions" / "gan-getting-started"
    for name in ("monet_tfrec/monet00-60.tfrec", "photo_tfrec/photo00-352.tfrec"):
        (root / name).parent.mkdir(parents=True)
        (root / name).write_bytes(b"")

    ctx = setup_notebook(out_dir=tmp_path / "working")

    assert (ctx.place, ctx.backend, ctx.accelerator) == ("kaggle", "jax", "tpu")
    assert "no TPU build" in ctx.why and "v5litepod-8" in ctx.why
    assert ctx.data.root == str(root) and ctx.data.monet == str(root / "monet_tfrec")
    assert ctx.time_limit == 3 * 3600
    assert strategy.describe(ctx.strategy) == "DataParallel over 8 TPU devices" and strategy.is_tpu(
        ctx.strategy
    )
    assert strategy.global_batch_size(4, ctx.strategy) == 32
    out = capsys.readouterr().out
    assert "session limit 3 h" in out and "per-replica batch × 8" in out


def test_backend_choice_is_kept_for_keras_in_this_process(monkeypatch):
    monkeypatch.setattr(
        backend, "probe", functools.partial(backend.probe, versions={"tensorflow": "2.20.0"}.get)
    )
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setattr(backend, "_set_here", None)
    with pytest.raises(RuntimeError, match="already imported with the jax backend"):
        backend.choose()  # a CPU machine with TensorFlow would pick it, but this Keras already runs JAX
