"""Pick the ``tf.distribute`` strategy for this machine, say which and why, set precision.

Order: TPU (when one is requested or detected) → multi-worker (``TF_CONFIG`` naming several workers)
→ several GPUs (``MirroredStrategy``) → several logical CPUs (``MirroredStrategy``, how replicas are
tested on CPU) → the default strategy (one device). A TPU that is detected but fails to start raises:
it is never silently replaced by the CPU.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from stx_tf import settings
from stx_tf.settings import get_logger

log = get_logger(__name__)

TPU_ENV = ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_ACCELERATOR_TYPE", "TPU_WORKER_ID")


def tpu_requested() -> str | None:
    """The TPU address implied by the environment: ``"local"`` on TPU VMs, a name/grpc address on older
    runtimes, or None when there is no sign of a TPU."""
    if os.environ.get("COLAB_TPU_ADDR"):
        return f"grpc://{os.environ['COLAB_TPU_ADDR']}"
    if os.environ.get("TPU_NAME"):
        return os.environ["TPU_NAME"]
    if (
        any(os.environ.get(k) for k in TPU_ENV)
        or os.path.exists("/dev/accel0")
        or os.path.exists("/dev/vfio/0")
    ):
        return "local"
    return None


def _tpu_strategy(tpu: str):
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        if tpu != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as err:
        raise RuntimeError(
            f"a TPU was requested/detected (tpu={tpu!r}) but could not be started: {err}. "
            "Fix the runtime, or call get_strategy(tpu=False) to run without it."
        ) from err
    return tf.distribute.TPUStrategy(resolver)


def _worker_count() -> int:
    raw = settings.tf_config()
    if not raw:
        return 0
    try:
        cluster = json.loads(raw).get("cluster", {})
    except json.JSONDecodeError as err:
        raise ValueError(f"TF_CONFIG is not valid JSON: {err}") from None
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def get_strategy(tpu: str | bool | None = None, verbose: bool = True) -> tf.distribute.Strategy:
    """Choose and return a strategy, logging what was chosen and why.

    Args:
        tpu: ``None`` detects from the environment; a string (``"local"``, a TPU name or ``grpc://``
            address) forces that TPU; ``False`` never uses a TPU.
        verbose: log the choice (``stx_tf.strategy: ...``).

    Raises:
        RuntimeError: a TPU was requested or detected but failed to initialise.
    """
    address = tpu_requested() if tpu is None else (tpu or None)
    if address:
        strategy = _tpu_strategy(address)
        why = f"TPU at {address!r}"
    elif _worker_count() > 1:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        why = f"TF_CONFIG names {_worker_count()} workers"
    else:
        gpus = tf.config.list_logical_devices("GPU")
        cpus = tf.config.list_logical_devices("CPU")
        if len(gpus) > 1:
            strategy = tf.distribute.MirroredStrategy([d.name for d in gpus])
            why = f"{len(gpus)} GPUs"
        elif not gpus and len(cpus) > 1:
            strategy = tf.distribute.MirroredStrategy([d.name for d in cpus])
            why = f"{len(cpus)} logical CPU devices"
        else:
            strategy = tf.distribute.get_strategy()
            why = f"one device ({'GPU' if gpus else 'CPU'}), no TPU"
    if verbose:
        log.info("strategy: %s — %s", describe(strategy), why)
    return strategy


def describe(strategy: tf.distribute.Strategy | None = None) -> str:
    """``"MirroredStrategy with 2 replicas"``-style one-liner."""
    strategy = strategy or tf.distribute.get_strategy()
    name = type(strategy).__name__
    if name == "_DefaultDistributionStrategy":
        name = "default strategy"
    n = strategy.num_replicas_in_sync
    return f"{name} with {n} replica{'s' if n != 1 else ''}"


def is_tpu(strategy: tf.distribute.Strategy | None) -> bool:
    return strategy is not None and "TPU" in type(strategy).__name__


def has_accelerator() -> bool:
    """Whether TensorFlow sees a GPU or a TPU device here."""
    return bool(tf.config.list_logical_devices("GPU") + tf.config.list_logical_devices("TPU"))


def cpu_has_bf16() -> bool:
    """True on CPUs with native bfloat16 maths (AMX or AVX-512 BF16, Linux ``/proc/cpuinfo``)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return any(flag in flags for flag in ("amx_bf16", "avx512_bf16"))


def native_bfloat16(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether bfloat16 maths is native and fast here: a TPU (strategy or device), or a CPU-only
    machine with AMX / AVX-512 BF16. GPUs answer False (float16 with loss scaling is their format)."""
    if is_tpu(strategy) or tf.config.list_logical_devices("TPU"):
        return True
    return not tf.config.list_logical_devices("GPU") and cpu_has_bf16()


def global_batch_size(per_replica: int, strategy: tf.distribute.Strategy | None = None) -> int:
    """Global batch = per-replica batch × replicas in sync."""
    strategy = strategy or tf.distribute.get_strategy()
    return int(per_replica) * strategy.num_replicas_in_sync


def precision_for(strategy: tf.distribute.Strategy | None = None) -> str:
    """The mixed-precision policy that suits the devices: bf16 on TPU, fp16 on GPU, fp32 on CPU."""
    if is_tpu(strategy):
        return "mixed_bfloat16"
    if tf.config.list_logical_devices("GPU"):
        return "mixed_float16"
    return "float32"


def set_precision(strategy: tf.distribute.Strategy | None = None, policy: str = "auto") -> str:
    """Set Keras' global dtype policy (``"auto"`` picks per device) and return its name."""
    import keras

    name = precision_for(strategy) if policy == "auto" else policy
    keras.mixed_precision.set_global_policy(name)
    log.info("precision policy: %s", name)
    return name
