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


def device_kind(strategy=None) -> str:
    """``"tpu"``, ``"gpu"`` or ``"cpu"``: what training runs on (the strategy's devices, else this process's).

    Under Keras' JAX backend the devices are JAX's; under TensorFlow, TensorFlow's logical devices.
    """
    if is_tpu(strategy):
        return "tpu"
    import keras

    if keras.backend.backend() == "jax":
        import jax

        platform = jax.devices()[0].platform
        return platform if platform in ("tpu", "gpu") else "cpu"
    if tf.config.list_logical_devices("TPU"):
        return "tpu"
    return "gpu" if tf.config.list_logical_devices("GPU") else "cpu"


def gpu_capability() -> tuple[int, int] | None:
    """CUDA compute capability ``(major, minor)`` of the first GPU, or ``None`` (no GPU, or unknown)."""
    import keras

    try:
        if keras.backend.backend() == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            text = getattr(gpus[0], "compute_capability", None) if gpus else None
            return tuple(int(x) for x in str(text).split(".")[:2]) if text else None
        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return None
        found = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        return tuple(int(x) for x in found) if found else None
    except (ValueError, RuntimeError, IndexError):
        return None


def native_bfloat16(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether bfloat16 maths is native and fast here: a TPU (strategy or device), or a CPU-only
    machine with AMX / AVX-512 BF16. GPUs answer False (float16 with loss scaling is their format)."""
    if is_tpu(strategy) or tf.config.list_logical_devices("TPU"):
        return True
    from stx_tf.precision import cpu_has_bf16

    return not tf.config.list_logical_devices("GPU") and cpu_has_bf16()


def global_batch_size(per_replica: int, strategy: tf.distribute.Strategy | None = None) -> int:
    """Global batch = per-replica batch × replicas in sync."""
    strategy = strategy or tf.distribute.get_strategy()
    return int(per_replica) * strategy.num_replicas_in_sync


def set_precision(strategy: tf.distribute.Strategy | None = None, policy: str = "auto") -> str:
    """Set Keras' global dtype policy (``"auto"``: :func:`stx_tf.precision.resolve`) and return its name."""
    import keras

    from stx_tf.precision import resolve

    name = resolve(policy, strategy)
    keras.mixed_precision.set_global_policy(name)
    log.info("precision policy: %s", name)
    return name
