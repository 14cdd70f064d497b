"""Pick Keras' backend for this machine before Keras is imported, and say what was picked and why.

Keras reads ``KERAS_BACKEND`` once, when it is first imported, so the choice must come first: the
notebooks' setup cell calls :func:`choose` (through :func:`stx_tf.runtime.setup_notebook`) before anything
imports Keras. Nothing here imports Keras, TensorFlow or JAX: the machine is read from environment
variables (through :mod:`stx_tf.settings`), device files and installed package metadata.

The rule (:func:`decide`):

* an explicit choice wins: the ``backend`` argument, ``STX_BACKEND``, or ``KERAS_BACKEND`` already set;
  it is checked against the accelerator (``"tensorflow"`` on a TPU that TensorFlow cannot drive raises);
* a TPU VM (Kaggle's TPU v5e-8 sets ``ISTPUVM=1`` and ``TPU_ACCELERATOR_TYPE=v5litepod-8``; Colab's TPU
  runtime; ``/dev/accel*`` or ``/dev/vfio/N``): TensorFlow when its TPU build (``tensorflow-tpu``) is
  installed, else JAX when ``jax`` and ``libtpu`` are (Kaggle's TPU image ships ``tensorflow-cpu`` beside
  ``jax[tpu]``);
* a legacy TPU node (``TPU_NAME`` / ``COLAB_TPU_ADDR`` naming a remote TPU, no TPU VM): TensorFlow, whose
  ``TPUStrategy`` connects to it;
* GPUs (``/dev/nvidia0`` …): TensorFlow (its ``MirroredStrategy`` path is the tested one), else JAX with
  its CUDA plugin;
* a CPU: TensorFlow, else JAX.

When a detected accelerator can be used by neither backend, :class:`NoUsableBackend` says what to
switch to: never a silent fall-back to the CPU.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stx_tf import settings
from stx_tf.settings import get_logger

log = get_logger(__name__)

BACKENDS = ("tensorflow", "jax")
ALIASES = {"tf": "tensorflow", "tensorflow": "tensorflow", "jax": "jax"}

#: Installed distributions looked at (their versions are reported).
PACKAGES = (
    "tensorflow",
    "tensorflow-cpu",
    "tensorflow-tpu",
    "jax",
    "jaxlib",
    "libtpu",
    "libtpu-nightly",
    "jax-cuda12-plugin",
    "jax-cuda13-plugin",
    "keras",
)

#: Kaggle's run-time limits for this competition's notebooks, in seconds, by the accelerator the session
#: was given (the competition's code requirements; a general Kaggle session may run longer).
KAGGLE_LIMITS = {"tpu": 3 * 3600.0, "gpu": 5 * 3600.0, "cpu": 5 * 3600.0}

#: What to do when a TPU is attached that no installed backend can drive.
SWITCH_HINT = (
    "Switch the accelerator to GPU T4 x2 (Kaggle: Settings → Accelerator; Colab: Runtime → Change "
    "runtime type), or install JAX for the TPU (pip install 'jax[tpu]') and restart."
)


#: The backend :func:`choose` put in ``KERAS_BACKEND`` (not an explicit choice when asked again).
_set_here: str | None = None


class NoUsableBackend(RuntimeError):
    """The accelerator attached here cannot be used by the backend asked for, or by any installed one."""


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _imported_keras_backend() -> str | None:
    """The backend of an already imported Keras (``None`` when Keras is not imported yet)."""
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    try:
        return keras.backend.backend()
    except AttributeError:  # Keras half-imported
        return None


@dataclass(frozen=True)
class Machine:
    """What this machine offers, read without importing Keras, TensorFlow or JAX.

    Attributes:
        tpu_env: TPU variables that are set (:data:`stx_tf.settings.TPU_ENV`).
        tpu_devices: local TPU device files (``/dev/accel0`` on v2-v4 TPU VMs, ``/dev/vfio/0`` on v5e/v6e).
        gpu_devices: NVIDIA device files (``/dev/nvidia0`` …).
        packages: installed versions of :data:`PACKAGES` (missing ones are left out).
        importable: which of ``tensorflow`` / ``jax`` can be imported.
        keras_imported: the backend of an already imported Keras, else ``None``.
    """

    tpu_env: dict = field(default_factory=dict)
    tpu_devices: tuple = ()
    gpu_devices: tuple = ()
    packages: dict = field(default_factory=dict)
    importable: frozenset = frozenset()
    keras_imported: str | None = None

    @property
    def tpu_vm(self) -> bool:
        """A TPU attached to this VM (Kaggle's ``ISTPUVM``, or local TPU device files)."""
        flag = self.tpu_env.get("ISTPUVM", "").strip().lower() in {"1", "true", "yes"}
        return flag or bool(self.tpu_devices) or self.tpu_env.get("TPU_NAME") == "local"

    @property
    def legacy_tpu_node(self) -> bool:
        """A remote TPU node named by ``TPU_NAME`` / ``COLAB_TPU_ADDR`` (no TPU on this VM): the TPU reads
        files through GCS only."""
        named = self.tpu_env.get("COLAB_TPU_ADDR") or self.tpu_env.get("TPU_NAME")
        return bool(named) and not self.tpu_vm

    @property
    def has_tpu(self) -> bool:
        return bool(self.tpu_env) or bool(self.tpu_devices)

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpu_devices)

    @property
    def accelerator(self) -> str:
        """``"tpu"``, ``"gpu"`` or ``"cpu"``: what this session was given."""
        return "tpu" if self.has_tpu else "gpu" if self.has_gpu else "cpu"

    @property
    def tpu_type(self) -> str:
        """``"v5litepod-8"``-style name of the TPU, or ``"TPU"`` when unknown."""
        return self.tpu_env.get("TPU_ACCELERATOR_TYPE") or "TPU"

    @property
    def tf_tpu(self) -> bool:
        """TensorFlow's TPU build is installed."""
        return "tensorflow" in self.importable and "tensorflow-tpu" in self.packages

    @property
    def tf_gpu(self) -> bool:
        """A TensorFlow that can use GPUs is installed (not only ``tensorflow-cpu``)."""
        return "tensorflow" in self.importable and "tensorflow" in self.packages

    @property
    def jax_tpu(self) -> bool:
        """JAX and the TPU runtime (``libtpu``) are installed."""
        libtpu = "libtpu" in self.packages or "libtpu-nightly" in self.packages
        return "jax" in self.importable and libtpu

    @property
    def jax_gpu(self) -> bool:
        """JAX and one of its CUDA plugins are installed."""
        return "jax" in self.importable and any(p.startswith("jax-cuda") for p in self.packages)

    def package(self, name: str) -> str:
        """``"tensorflow-cpu 2.20.0"``, or ``"no tensorflow-cpu"``."""
        version = self.packages.get(name)
        return f"{name} {version}" if version else f"no {name}"

    def tensorflow_build(self) -> str:
        """The installed TensorFlow distributions, e.g. ``"tensorflow-cpu 2.20.0"``."""
        found = [
            self.package(p) for p in ("tensorflow", "tensorflow-cpu", "tensorflow-tpu") if p in self.packages
        ]
        return ", ".join(found) if found else "no TensorFlow"

    def jax_build(self) -> str:
        """The installed JAX and its device plugins, e.g. ``"jax 0.6.2 with libtpu 0.0.17"``."""
        if "jax" not in self.packages:
            return "no JAX"
        plugins = [self.package(p) for p in self.packages if p.startswith(("libtpu", "jax-cuda"))]
        return self.package("jax") + (f" with {', '.join(plugins)}" if plugins else " (CPU only)")

    def accelerator_label(self) -> str:
        """``"Kaggle TPU VM v5litepod-8"``-style description of the accelerator."""
        if self.has_tpu:
            if self.legacy_tpu_node:
                return f"TPU node {self.tpu_env.get('COLAB_TPU_ADDR') or self.tpu_env.get('TPU_NAME')}"
            return f"TPU VM {self.tpu_type}"
        if self.has_gpu:
            n = len(self.gpu_devices)
            return f"{n} GPU{'s' if n > 1 else ''}"
        return "CPU only"


def probe(dev: str | Path = "/dev", versions: Callable[[str], str | None] | None = None) -> Machine:
    """Read this machine (environment, device files, installed packages) without importing a framework.

    Args:
        dev: the device folder (tests point it at a temporary folder).
        versions: ``name → version or None`` for installed distributions (default: ``importlib.metadata``);
            a package with a version counts as importable for ``tensorflow*`` and ``jax``.
    """
    dev = Path(dev)
    accel = sorted(str(p) for p in dev.glob("accel[0-9]*"))
    vfio = sorted(str(p) for p in dev.glob("vfio/[0-9]*"))
    gpus = sorted(str(p) for p in dev.glob("nvidia[0-9]*") if re.fullmatch(r"nvidia\d+", p.name))
    lookup = versions or _installed
    packages = {name: version for name in PACKAGES if (version := lookup(name))}
    if versions is None:
        importable = frozenset(m for m in ("tensorflow", "jax") if _importable(m))
    else:
        tensorflow = {"tensorflow", "tensorflow-cpu", "tensorflow-tpu"} & packages.keys()
        importable = frozenset(["tensorflow"] * bool(tensorflow) + ["jax"] * ("jax" in packages))
    return Machine(
        tpu_env=settings.tpu_environment(),
        tpu_devices=tuple(accel + vfio),
        gpu_devices=tuple(gpus),
        packages=packages,
        importable=importable,
        keras_imported=_imported_keras_backend(),
    )


@dataclass(frozen=True)
class Choice:
    """The backend picked, the accelerator it will drive and why."""

    backend: str  # "tensorflow" or "jax"
    accelerator: str  # "tpu", "gpu" or "cpu": what training will run on
    reason: str
    machine: Machine

    def __str__(self) -> str:
        return f"{self.backend} on {self.accelerator.upper()} — {self.reason}"


def _normalise(name: str, source: str) -> str:
    backend = ALIASES.get(str(name).strip().lower())
    if backend is None:
        raise ValueError(f"{source}={name!r}: the backend must be one of {', '.join(BACKENDS)}")
    return backend


def _explicit(backend: str | None) -> tuple[str, str] | None:
    """``(backend, where it was asked)`` for an explicit choice, else None."""
    if backend:
        return _normalise(backend, "backend"), f"asked for (backend={backend!r})"
    if settings.backend_override():
        value = settings.backend_override()
        return _normalise(value, "STX_BACKEND"), f"STX_BACKEND={value}"
    if settings.keras_backend() and settings.keras_backend() != _set_here:
        value = settings.keras_backend()
        return _normalise(value, "KERAS_BACKEND"), f"KERAS_BACKEND={value}"
    return None


def _check_explicit(backend: str, why: str, machine: Machine, use_tpu: bool) -> Choice:
    """An explicit choice, checked against the accelerator (no silent CPU fall-back)."""
    m = machine
    if backend not in m.importable:
        raise NoUsableBackend(
            f"{why}, but {backend} is not installed here ({m.tensorflow_build()}; {m.jax_build()})"
        )
    if m.has_tpu and use_tpu:
        if backend == "tensorflow" and not (m.tf_tpu or m.legacy_tpu_node):
            raise NoUsableBackend(
                f"{why}, but TensorFlow cannot use the {m.accelerator_label()} attached here "
                f"({m.tensorflow_build()} has no TPU support): choose jax, or pass tpu=False to run "
                "TensorFlow on the CPU and leave the TPU idle"
            )
        if backend == "jax" and not m.jax_tpu:
            raise NoUsableBackend(
                f"{why}, but JAX cannot use the {m.accelerator_label()} attached here ({m.jax_build()}). "
                + SWITCH_HINT
            )
        return Choice(backend, "tpu", f"{why}; {m.accelerator_label()}", m)
    if m.has_gpu:
        if backend == "jax" and not m.jax_gpu:
            raise NoUsableBackend(
                f"{why}, but JAX cannot use the {m.accelerator_label()} here ({m.jax_build()}): it would "
                "train on the CPU. Choose tensorflow, or install jax[cuda12]"
            )
        if backend == "tensorflow" and not m.tf_gpu:
            raise NoUsableBackend(
                f"{why}, but {m.tensorflow_build()} cannot use the {m.accelerator_label()} here: choose "
                "jax or install tensorflow"
            )
        return Choice(backend, "gpu", f"{why}; {m.accelerator_label()}", m)
    return Choice(backend, "cpu", f"{why}; {m.accelerator_label()}", m)


def decide(machine: Machine, backend: str | None = None, tpu: bool | None = None) -> Choice:
    """The backend for ``machine`` (a pure function of what :func:`probe` found and the settings).

    Args:
        machine: what :func:`probe` found.
        backend: an explicit ``"jax"`` / ``"tensorflow"`` (default: ``STX_BACKEND``, else ``KERAS_BACKEND``,
            else detected).
        tpu: ``False`` ignores an attached TPU (the CPU trains); ``None`` uses it.

    Raises:
        NoUsableBackend: the accelerator cannot be used by the backend asked for, or by any installed one.
        ValueError: an unknown backend name.
    """
    m = machine
    use_tpu = tpu is not False
    explicit = _explicit(backend)
    if explicit:
        return _check_explicit(*explicit, m, use_tpu)
    if m.has_tpu and use_tpu:
        label = m.accelerator_label()
        if m.legacy_tpu_node and "tensorflow" in m.importable:
            return Choice("tensorflow", "tpu", f"{label}: TensorFlow's TPUStrategy connects to it", m)
        if m.tf_tpu:
            return Choice(
                "tensorflow",
                "tpu",
                f"{label}; TensorFlow's TPU build is installed ({m.tensorflow_build()})",
                m,
            )
        if m.jax_tpu:
            return Choice(
                "jax",
                "tpu",
                f"{label}; TensorFlow has no TPU build here ({m.tensorflow_build()}), "
                f"{m.jax_build()} drives it",
                m,
            )
        raise NoUsableBackend(
            f"a {label} is attached but neither backend can use it: {m.tensorflow_build()} has no TPU "
            f"support and JAX cannot drive it ({m.jax_build()}). {SWITCH_HINT}"
        )
    if m.has_gpu:
        label = m.accelerator_label()
        if m.tf_gpu:
            return Choice("tensorflow", "gpu", f"{label}; {m.tensorflow_build()} (MirroredStrategy)", m)
        if m.jax_gpu:
            return Choice(
                "jax", "gpu", f"{label}; {m.tensorflow_build()} cannot use them, {m.jax_build()} can", m
            )
        raise NoUsableBackend(
            f"{label} attached but neither backend can use them ({m.tensorflow_build()}; {m.jax_build()}): "
            "install tensorflow (GPU build) or jax[cuda12]"
        )
    ignored = " (the attached TPU is ignored: tpu=False)" if m.has_tpu else ""
    for name in BACKENDS:
        if name in m.importable:
            build = m.tensorflow_build() if name == "tensorflow" else m.jax_build()
            return Choice(name, "cpu", f"no GPU or TPU{ignored}; {build}", m)
    raise NoUsableBackend("neither TensorFlow nor JAX is installed: pip install tensorflow")


def choose(backend: str | None = None, tpu: bool | None = None, verbose: bool = True) -> Choice:
    """Pick the backend (:func:`decide` on :func:`probe`), set ``KERAS_BACKEND`` and log the choice.

    Call it before anything imports Keras; when Keras is already imported, its backend must be the one
    picked (else the kernel has to be restarted).

    Raises:
        NoUsableBackend: as :func:`decide`.
        RuntimeError: Keras was already imported with another backend.
    """
    choice = decide(probe(), backend, tpu)
    imported = choice.machine.keras_imported
    if imported is not None and imported != choice.backend:
        raise RuntimeError(
            f"Keras is already imported with the {imported} backend, but this machine needs "
            f"{choice.backend} ({choice.reason}). Restart the kernel and run the setup cells first (they "
            "choose the backend before Keras is imported), or set KERAS_BACKEND="
            f"{choice.backend} before starting Python."
        )
    global _set_here
    settings.set_keras_backend(choice.backend)
    _set_here = choice.backend
    if verbose:
        log.info("backend: %s", choice)
    return choice


def session_accelerator() -> str:
    """The accelerator this session was given (``"tpu"``, ``"gpu"``, ``"cpu"``), from the environment and
    device files: what Kaggle's time limit follows, whatever the training ends up running on."""
    return probe(versions=lambda name: None).accelerator


def kaggle_time_limit(device: str | None = None) -> float:
    """Kaggle's run-time limit in seconds for this session (:data:`KAGGLE_LIMITS`).

    The limit follows the accelerator Kaggle attached (:func:`session_accelerator`: a TPU session is
    stopped at 3 hours even when training falls back to the CPU); ``device``, what training runs on, can
    only make it shorter.
    """
    limits = [KAGGLE_LIMITS[session_accelerator()]]
    if device in KAGGLE_LIMITS:
        limits.append(KAGGLE_LIMITS[device])
    return min(limits)
