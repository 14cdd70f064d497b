"""stx_tf.strategy: the choice on CPU (one device, several logical CPUs), TPU failure, batch sizes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import tensorflow as tf

from stx_tf import strategy as st


def test_default_on_one_cpu(caplog):
    chosen = st.get_strategy()
    assert chosen.num_replicas_in_sync == 1
    assert st.describe(chosen) == "default strategy with 1 replica"
    assert st.global_batch_size(4, chosen) == 4


def test_tpu_failure_is_not_hidden(monkeypatch):
    def boom(*args, **kwargs):
        raise ValueError("no TPU here")

    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", boom)
    with pytest.raises(RuntimeError, match=r"tpu='local'.*could not be started.*no TPU here"):
        st.get_strategy(tpu="local")
    monkeypatch.setenv("TPU_NAME", "my-tpu")
    assert st.tpu_requested() == "my-tpu"
    with pytest.raises(RuntimeError, match="my-tpu"):
        st.get_strategy()
    assert st.get_strategy(tpu=False).num_replicas_in_sync == 1


def test_tf_config_parsing(monkeypatch):
    cluster = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    assert st._worker_count() == 2
    monkeypatch.setenv("TF_CONFIG", "{oops")
    with pytest.raises(ValueError, match="TF_CONFIG"):
        st._worker_count()


def test_several_logical_cpus_mirror():
    code = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from stx_tf.strategy import get_strategy, describe, global_batch_size
s = get_strategy()
print(describe(s), global_batch_size(8, s))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "MirroredStrategy with 2 replicas 16" in out.stdout
    assert "2 logical CPU devices" in out.stderr
