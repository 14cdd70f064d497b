"""The distribution check every painter passes (beside :mod:`contract`): one train step on a global batch
split over two devices gives the one-device weights and losses.

* TensorFlow: :func:`check_mirrored_step` runs a fresh process (logical devices must be configured before
  TensorFlow starts) with ``MirroredStrategy`` over two logical CPUs.
* JAX: :func:`check_data_parallel_step` in the JAX test process, ``keras.distribution.DataParallel`` over
  its two virtual CPU devices.

The painter is named by its builder and config (``"stx_tf.cut.model:build_cut"``,
``"stx_tf.cut.config:CUTConfig"`` and the config's fields), so the same check serves every painter. Plain
SGD is used: a wrongly scaled gradient shows (Adam's first step would hide it). The painter's config must
make no random choice that differs between devices (no DiffAugment, pool or random patch choice).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _resolve(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def build_model(builder: str, config_class: str, config: dict):
    """The painter, compiled with SGD(0.5), BCE and label smoothing 0.1, in the current scope."""
    import keras

    model = _resolve(builder)(_resolve(config_class)(**config, adversarial_loss="bce"))
    model.compile(keras.optimizers.SGD(0.5), adversarial_loss="bce", label_smoothing=0.1)
    return model


def batch(size: int = 32, n: int = 4) -> tuple:
    rng = np.random.default_rng(0)
    return tuple(rng.uniform(-1, 1, (n, size, size, 3)).astype("float32") for _ in range(2))


def one_step(model, nets, fit, start=None):
    """``(weights before, weights after, logs)`` of one ``fit(model)`` step, the nets set to ``start`` first."""
    for name in nets:
        if start:
            getattr(model, name).set_weights(start[name])
    before = {name: getattr(model, name).get_weights() for name in nets}
    logs = fit(model)
    return before, {name: getattr(model, name).get_weights() for name in nets}, logs


def assert_same_step(nets, start, single, multi, single_logs, multi_logs) -> dict:
    """Each net moved, and by what it moves in the one-device step (to 1e-5 of its own largest change:
    a net that moves little is not hidden by one that moves much); returns ``{net: (worst, moved)}``."""
    found = {}
    for name in nets:
        worst = max(float(np.abs(a - b).max()) for a, b in zip(single[name], multi[name]))
        moved = max(float(np.abs(a - s).max()) for a, s in zip(single[name], start[name]))
        assert moved > 1e-4, f"the step left {name} unchanged"
        assert worst < 1e-5 * max(1.0, moved), (name, worst, moved)
        found[name] = (worst, moved)
    for key, value in single_logs.items():
        np.testing.assert_allclose(multi_logs[key], value, rtol=1e-5)
    return found


_MIRRORED = """
import json, sys
import tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)
from replicas import assert_same_step, batch, build_model, one_step
builder, config_class, config, nets = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4].split(",")
data = tf.data.Dataset.from_tensors(batch(config["image_size"]))
fit = lambda model: model.fit(data, verbose=0).history

def step(strategy, start=None):
    with strategy.scope():
        model = build_model(builder, config_class, config)
    return one_step(model, nets, fit, start)

mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert mirrored.num_replicas_in_sync == 2
start, single, single_logs = step(tf.distribute.get_strategy())
_, multi, multi_logs = step(mirrored, start)
print("OK", assert_same_step(nets, start, single, multi, single_logs, multi_logs))
"""


def check_mirrored_step(builder: str, config_class: str, config: dict, nets) -> None:
    """TensorFlow: the 2-replica ``MirroredStrategy`` step equals the one-device step (own process)."""
    path = os.pathsep.join([str(HERE.parent), str(HERE)])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", PYTHONPATH=path)
    args = [builder, config_class, json.dumps(config), ",".join(nets)]
    proc = subprocess.run(
        [sys.executable, "-c", _MIRRORED, *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr[-3000:]


def check_data_parallel_step(builder: str, config_class: str, config: dict, nets) -> None:
    """JAX: the ``DataParallel`` step over the process's devices equals the one-device step."""
    import keras

    from stx_tf import strategy

    x, y = batch(config["image_size"])

    def step(distribution, start=None):
        keras.distribution.set_distribution(distribution)
        model = build_model(builder, config_class, config)
        fit = lambda m: m.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0).history  # noqa: E731
        return one_step(model, nets, fit, start)

    start, single, single_logs = step(None)
    _, multi, multi_logs = step(strategy.get_distribution(verbose=False), start)
    assert_same_step(nets, start, single, multi, single_logs, multi_logs)
