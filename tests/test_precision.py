"""The one precision rule: device rules, aliases, scoped policies, exact cast copies."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from stx_tf import precision


def test_device_rules(monkeypatch):
    assert precision.for_device("tpu") == "mixed_bfloat16"
    assert precision.for_device("gpu", (7, 5)) == "mixed_float16"  # T4: tensor cores
    assert precision.for_device("gpu", (6, 0)) == "float32"  # P100: no tensor cores, fp16 is slower
    assert precision.for_device("gpu", None) == "float32"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    assert precision.for_device("cpu") == "mixed_bfloat16"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert precision.for_device("cpu") == "float32"
    assert precision.resolve("auto") == "float32"  # the tests' CPU device, no bf16 (patched)


def test_onednn_isa_cap_turns_bf16_off(monkeypatch, tmp_path):
    """An ``ONEDNN_MAX_CPU_ISA`` below AVX-512 BF16 (how an AVX2-only CPU is emulated) means no native bf16:
    oneDNN would refuse bfloat16 convolutions, so "auto" must pick float32 even on an AMX CPU."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16\n")
    real_open = open
    monkeypatch.setattr("builtins.open", lambda f, *a, **k: real_open(cpuinfo if f == "/proc/cpuinfo" else f, *a, **k))
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert precision.cpu_has_bf16() and precision.for_device("cpu") == "mixed_bfloat16"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert precision.isa_cap() == "avx2"
    assert not precision.cpu_has_bf16() and precision.for_device("cpu") == "float32"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")  # a cap that keeps bf16
    assert precision.cpu_has_bf16()


def test_aliases_and_errors():
    assert precision.resolve("bfloat16") == "mixed_bfloat16"
    assert precision.resolve("mixed_bfloat16") == "mixed_bfloat16"
    assert precision.resolve("fp16") == "mixed_float16"
    assert precision.compute_dtype("bfloat16") == "bfloat16"
    with pytest.raises(ValueError, match="precision must be one of"):
        precision.resolve("int8")


def test_policy_scope_does_not_leak():
    before = keras.config.dtype_policy().name
    with precision.policy_scope("bfloat16"):
        layer = keras.layers.Dense(2)
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == before
    assert layer.dtype_policy.name == "mixed_bfloat16"


def test_cast_copy_same_weights_and_kept_layers():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(2, name="out")(hidden)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    bf16 = precision.cast_copy(model, "bfloat16", keep=["out"])
    assert bf16.get_layer("hidden").dtype_policy.name == "mixed_bfloat16"
    assert bf16.get_layer("out").dtype_policy.name == "float32"
    assert np.allclose(np.asarray(bf16(x)), np.asarray(model(x)), atol=0.05)
    back = precision.cast_copy(bf16, "float32")
    np.testing.assert_allclose(np.asarray(back(x)), np.asarray(model(x)), rtol=1e-6, atol=1e-6)
    assert precision.cast_copy(model, "float32") is model
