"""Devices and data parallelism for this machine: say which and why, set precision.

Under TensorFlow, :func:`get_strategy` picks the ``tf.distribute`` strategy. Order: TPU (when one is
requested or detected) → multi-worker (``TF_CONFIG`` naming several workers) → several GPUs
(``MirroredStrategy``) → several logical CPUs (``MirroredStrategy``, how replicas are tested on CPU) → the
default strategy (one device). Under JAX, :func:`get_distribution` sets Keras' ``DataParallel`` over all
devices (the 8 TPU cores of a v5e-8, the GPUs, or the CPU devices). Either way an accelerator that is
detected but cannot be used raises: it is never silently replaced by the CPU. :func:`global_batch_size`
(per-replica batch × replicas) works with both.
"""

from __future__ import annotations

import json

import tensorflow as tf

from stx_tf import settings
from stx_tf.settings import get_logger

log = get_logger(__name__)


def tpu_requested() -> str | None:
    """The TPU address implied by the environment: ``"local"`` on TPU VMs, a name/grpc address on older
    runtimes (a remote TPU node), or None when there is no sign of a TPU
    (:class:`stx_tf.backend.Machine` reads the signs)."""
    from stx_tf.backend import probe

    machine = probe(versions=lambda name: None)
    if machine.legacy_tpu_node:
        addr = machine.tpu_env.get("COLAB_TPU_ADDR")
        return f"grpc://{addr}" if addr else machine.tpu_env["TPU_NAME"]
    return "local" if machine.has_tpu else None


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


def _device_kind_of(devices) -> str:
    """``"tpu"`` / ``"gpu"`` / ``"cpu"`` of Keras device names (``"tpu:0"``, ``"cuda:0"``, ``"cpu:1"``)."""
    kinds = {str(d).split(":")[0].lower() for d in devices}
    if "tpu" in kinds:
        return "tpu"
    return "gpu" if kinds & {"gpu", "cuda", "rocm"} else "cpu"


def _is_distribution(strategy) -> bool:
    """A Keras ``keras.distribution.Distribution`` (JAX), as opposed to a ``tf.distribute`` strategy."""
    return hasattr(strategy, "device_mesh") and not hasattr(strategy, "num_replicas_in_sync")


def replicas(strategy=None) -> int:
    """Replicas that each take a per-replica batch: a strategy's ``num_replicas_in_sync``, or the devices
    of a Keras distribution's mesh (default: the distribution / strategy in effect)."""
    if strategy is None:
        import keras

        if keras.backend.backend() == "jax":
            strategy = keras.distribution.distribution()
            if strategy is None:
                return 1
        else:
            strategy = tf.distribute.get_strategy()
    if _is_distribution(strategy):
        return int(strategy.device_mesh.devices.size)
    return int(strategy.num_replicas_in_sync)


def describe(strategy=None) -> str:
    """``"MirroredStrategy with 2 replicas"`` / ``"DataParallel over 8 TPU devices"``-style one-liner."""
    if strategy is not None and _is_distribution(strategy):
        devices = strategy.device_mesh.devices.flatten().tolist()
        n = len(devices)
        return f"{type(strategy).__name__} over {n} {_device_kind_of(devices).upper()} device{'s' * (n != 1)}"
    strategy = strategy or tf.distribute.get_strategy()
    name = type(strategy).__name__
    if name == "_DefaultDistributionStrategy":
        name = "default strategy"
    n = strategy.num_replicas_in_sync
    return f"{name} with {n} replica{'s' if n != 1 else ''}"


def is_tpu(strategy) -> bool:
    """Whether ``strategy`` (a ``tf.distribute`` strategy or a Keras distribution) runs on TPUs."""
    if strategy is not None and _is_distribution(strategy):
        return _device_kind_of(strategy.device_mesh.devices.flatten().tolist()) == "tpu"
    return strategy is not None and "TPU" in type(strategy).__name__


def get_distribution(expect: str | None = None, verbose: bool = True):
    """Keras' ``DataParallel`` over every JAX device, set as the global distribution, and returned.

    Each device holds a full copy of the variables and takes one per-replica slice of every global batch
    (global batch = per-replica batch × devices, :func:`global_batch_size`); gradients are averaged
    across devices by XLA. On a Kaggle TPU v5e-8 that is 8 TPU devices.

    Args:
        expect: the accelerator the session was given (``"tpu"`` / ``"gpu"``, see
            :func:`stx_tf.backend.choose`): JAX seeing only other devices raises instead of training on
            the CPU.
        verbose: log what was chosen and why.

    Raises:
        RuntimeError: the backend is not JAX, or JAX does not see the expected accelerator.
    """
    import keras

    if keras.backend.backend() != "jax":
        raise RuntimeError(
            f"get_distribution() is for Keras' JAX backend (this is {keras.backend.backend()}): "
            "use get_strategy() under TensorFlow"
        )
    devices = keras.distribution.list_devices()
    kind = _device_kind_of(devices)
    if expect in ("tpu", "gpu") and kind != expect:
        raise RuntimeError(
            f"a {expect.upper()} is attached but JAX sees only {kind.upper()} devices "
            f"({', '.join(devices[:4])}): its {expect.upper()} runtime is missing or failed to start (see "
            f"the messages above). Install jax[{'tpu' if expect == 'tpu' else 'cuda12'}] or switch the "
            "accelerator"
        )
    distribution = keras.distribution.DataParallel(devices=devices)
    keras.distribution.set_distribution(distribution)
    if verbose:
        log.info(
            "distribution: %s — all %d %s device(s) JAX sees; global batch = per-replica batch × %d",
            describe(distribution),
            len(devices),
            kind.upper(),
            len(devices),
        )
    return distribution


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


def global_batch_size(per_replica: int, strategy=None) -> int:
    """Global batch = per-replica batch × replicas (:func:`replicas`: a ``tf.distribute`` strategy's replicas
    in sync, or the devices of a Keras distribution)."""
    return int(per_replica) * replicas(strategy)
