"""The one precision rule of stx_tf: which dtype policy a painter, the export and the scorer compute in.

Every ``precision`` setting in the package (CycleGAN, DCGAN, fast style, Gatys, export) is resolved here:

* ``"float32"``: float32 everywhere.
* ``"mixed_bfloat16"`` (alias ``"bfloat16"``): bfloat16 maths, float32 variables, optimiser states and
  losses. Native on TPUs and on CPUs with AMX / AVX-512 BF16; emulated (slower than float32) elsewhere.
* ``"mixed_float16"`` (alias ``"float16"``): float16 maths with loss scaling, for GPUs with tensor cores.
* ``"auto"``: by device — TPU → ``mixed_bfloat16``; GPU of compute capability ≥ 7.0 (tensor cores: T4,
  V100, A100, L4, ...) → ``mixed_float16``; older GPUs (P100, K80) → ``float32`` (float16 is slower
  there); CPU with native bfloat16 → ``mixed_bfloat16``; any other CPU → ``float32``.

Scores (:mod:`stx_tf.metrics`) never use this rule: the scorer always computes in float32, whatever the
global policy (see :func:`float32_scope`). Keras' global policy is only changed inside
:func:`policy_scope` blocks, so training one painter never leaks its policy into another or the scorer.
Mixed precision: Micikevicius et al. 2018, https://arxiv.org/abs/1710.03740.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

#: Accepted ``precision`` values (aliases in :data:`ALIASES` are accepted too).
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")

#: Short names users write, mapped to Keras policy names.
ALIASES = {"bfloat16": "mixed_bfloat16", "bf16": "mixed_bfloat16", "float16": "mixed_float16",
           "fp16": "mixed_float16", "fp32": "float32"}

#: CPU flags (Linux ``/proc/cpuinfo``) of native bfloat16 maths.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")

#: ``ONEDNN_MAX_CPU_ISA`` values (oneDNN's cap on the instructions it uses; ``DNNL_MAX_CPU_ISA`` is the old
#: name) under which bfloat16 maths is NOT native: oneDNN then refuses bfloat16 convolutions, and the cap is
#: how an AVX2-only CPU is emulated on an AMX one (``benchmarks/README.md``).
ISA_CAPS_WITHOUT_BF16 = ("sse41", "avx", "avx2", "avx2_vnni", "avx2_vnni_2", "avx512_core", "avx512_core_vnni")

#: Smallest CUDA compute capability with tensor cores (where float16 is faster than float32).
MIN_FLOAT16_CAPABILITY = (7, 0)


def normalise(precision: str) -> str:
    """The Keras policy name of ``precision`` (aliases resolved), ``"auto"`` unchanged.

    Raises:
        ValueError: an unknown precision.
    """
    name = ALIASES.get(str(precision).lower(), str(precision).lower())
    if name not in PRECISIONS:
        choices = ", ".join(PRECISIONS + tuple(ALIASES))
        raise ValueError(f"precision must be one of {choices}; got {precision!r}")
    return name


def isa_cap() -> str | None:
    """oneDNN's instruction-set cap (``ONEDNN_MAX_CPU_ISA``, read by :mod:`stx_tf.settings`), or None."""
    from stx_tf import settings

    return settings.onednn_isa_cap()


def cpu_has_bf16() -> bool:
    """True on CPUs with native bfloat16 maths (AMX or AVX-512 BF16, Linux ``/proc/cpuinfo``), unless
    ``ONEDNN_MAX_CPU_ISA`` caps oneDNN below them (:data:`ISA_CAPS_WITHOUT_BF16`)."""
    if isa_cap() in ISA_CAPS_WITHOUT_BF16:
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read().split()
    except OSError:
        return False
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def for_device(device: str, gpu_capability: tuple[int, int] | None = None) -> str:
    """The ``"auto"`` policy of a device kind (``"tpu"``, ``"gpu"``, ``"cpu"``): the rule, as a pure function.

    Args:
        device: the accelerator training runs on.
        gpu_capability: CUDA compute capability ``(major, minor)`` of the GPU (``None``: unknown, taken as
            too old for float16).
    """
    if device == "tpu":
        return "mixed_bfloat16"
    if device == "gpu":
        ok = gpu_capability is not None and tuple(gpu_capability) >= MIN_FLOAT16_CAPABILITY
        return "mixed_float16" if ok else "float32"
    if device == "cpu":
        return "mixed_bfloat16" if cpu_has_bf16() else "float32"
    raise ValueError(f"device must be 'tpu', 'gpu' or 'cpu', got {device!r}")


def resolve(precision: str = "auto", strategy=None) -> str:
    """The Keras dtype policy ``precision`` means here (``"auto"`` by :func:`for_device`).

    Args:
        precision: a value of :data:`PRECISIONS` or an alias.
        strategy: the strategy training runs under (a TPU strategy means a TPU; default: what this
            process sees, see :func:`stx_tf.strategy.device_kind`).
    """
    name = normalise(precision)
    if name != "auto":
        return name
    from stx_tf import strategy as strategies

    device = strategies.device_kind(strategy)
    return for_device(device, strategies.gpu_capability() if device == "gpu" else None)


def compute_dtype(policy: str) -> str:
    """``"bfloat16"`` / ``"float16"`` / ``"float32"``: the maths dtype of a policy name."""
    name = normalise(policy)
    return {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}.get(name, "float32")


@contextlib.contextmanager
def policy_scope(policy: str) -> Iterator[str]:
    """Make ``policy`` Keras' global dtype policy inside the block, then restore the previous one.

    Layers created inside keep the policy; the global setting does not leak out of the block.
    """
    import keras

    name = normalise(policy)
    if name == "auto":
        raise ValueError("policy_scope needs a resolved policy; call precision.resolve() first")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield name
    finally:
        keras.config.set_dtype_policy(previous)


def float32_scope():
    """:func:`policy_scope` of ``"float32"`` (the scorer and saved generators)."""
    return policy_scope("float32")


def cast_copy(model, policy: str, keep=()):
    """A copy of a functional / sequential Keras model computing under ``policy``, with the same weights.

    Variables stay float32 under every policy, so the copy is exact and a copy back to ``"float32"``
    restores the original maths.

    Args:
        model: the model to copy.
        policy: a resolved policy (``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``).
        keep: layers (objects or names) that keep their own policy, e.g. a float32 output layer or an
            input preprocessing layer.

    Returns:
        ``model`` itself when every layer already computes under ``policy``, else the copy.
    """
    import keras

    name = normalise(policy)
    kept = {k if isinstance(k, str) else k.name for k in keep}
    if all(layer.dtype_policy.name == name or layer.name in kept for layer in model.layers):
        return model

    def clone(layer):
        config = layer.get_config()
        if "dtype" in config and layer.name not in kept and not isinstance(layer, keras.layers.InputLayer):
            config["dtype"] = name
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    copy.trainable = model.trainable
    return copy
