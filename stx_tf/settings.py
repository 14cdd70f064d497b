"""The one place that reads environment variables.

Every other module asks this one. Variables:

| variable | meaning |
|---|---|
| ``STX_SMOKE`` | ``1`` runs everything tiny (few steps, small images, random weights): CI and quick checks |
| ``STX_DATA_DIR`` | where the competition data lives (a folder holding ``monet_tfrec/`` etc.) |
| ``STX_CACHE_DIR`` | where the embedded sample and cached statistics go (default ``~/.cache/stx_tf``) |
| ``STX_MODELS_DIR`` | trained presets / generators for ``stx serve`` and ``fast-style apply`` (default ``./models``) |
| ``STX_VGG19_WEIGHTS`` | local VGG19 ``notop`` weights file (when ImageNet weights cannot be downloaded) |
| ``STX_SQUEEZENET_WEIGHTS`` | local SqueezeNet v1.1 ``notop`` HDF5 weights file |
| ``STX_FID_INCEPTION_WEIGHTS`` | the competition's FID Inception of 2015 (``.pt`` / ``.pth`` / ``.pb`` / ``.weights.h5``, or a folder holding one): Kaggle's MiFID network |
| ``STX_INCEPTION_WEIGHTS`` | Keras ImageNet InceptionV3 ``notop`` weights, or Kaggle's ``classify_image_graph_def.pb`` (run as a TF graph) |
| ``STX_ARBITRARY_MODEL`` | folder (or file) of the arbitrary-style networks: Magenta's TFLite pair or SavedModel |
| ``STX_LOG`` | log level for the ``stx_tf`` logger (default ``INFO``) |
| ``STX_BACKEND`` | ``jax`` or ``tensorflow``: the backend :func:`stx_tf.backend.choose` picks, always |
| ``STX_KAGGLE_INPUT`` | Kaggle's input folder (default ``/kaggle/input``; tests point it elsewhere) |
| ``STX_PIP_SPEC`` | what the notebooks' install cell installs when no wheel is attached (read by the cell) |

Read here, set by others: ``KERAS_BACKEND`` (Keras' own switch, also an explicit backend choice),
``KAGGLE_KERNEL_RUN_TYPE`` / ``COLAB_RELEASE_TAG`` / ``COLAB_GPU`` (where we run), ``TF_CONFIG``
(multi-worker), and the variables that announce a TPU (:data:`TPU_ENV`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}

#: Variables that announce a TPU: Kaggle's TPU VMs set ``ISTPUVM=1`` and ``TPU_ACCELERATOR_TYPE`` (e.g.
#: ``v5litepod-8``); ``TPU_NAME`` / ``COLAB_TPU_ADDR`` name a remote TPU node (the legacy runtimes).
TPU_ENV = ("ISTPUVM", "TPU_ACCELERATOR_TYPE", "TPU_NAME", "COLAB_TPU_ADDR", "TPU_WORKER_ID")

#: Environment variable holding a local weights file, per backbone name.
WEIGHTS_ENV = {
    "vgg19": "STX_VGG19_WEIGHTS",
    "squeezenet": "STX_SQUEEZENET_WEIGHTS",
    "inception_v3": "STX_INCEPTION_WEIGHTS",
    "fid_inception": "STX_FID_INCEPTION_WEIGHTS",
}


def _get(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def smoke_mode() -> bool:
    """True when ``STX_SMOKE`` is set: tiny data, few steps, random weights."""
    return (_get("STX_SMOKE") or "").strip().lower() in _TRUE


def smoke(normal, small):
    """Pick ``small`` in smoke mode, ``normal`` otherwise (sizes, step counts, ...)."""
    return small if smoke_mode() else normal


def data_dir() -> Path | None:
    """The competition data folder named by ``STX_DATA_DIR``, if any."""
    value = _get("STX_DATA_DIR")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Writable cache folder (embedded sample, FID statistics)."""
    value = _get("STX_CACHE_DIR")
    path = Path(value).expanduser() if value else Path.home() / ".cache" / "stx_tf"
    return path


def models_dir() -> Path:
    """Folder holding trained presets and generators."""
    value = _get("STX_MODELS_DIR")
    return Path(value).expanduser() if value else Path("models")


def weights_file(backbone: str) -> Path | None:
    """A local weights file for ``backbone`` named by its environment variable, if set."""
    env = WEIGHTS_ENV.get(backbone)
    value = _get(env) if env else None
    return Path(value).expanduser() if value else None


def arbitrary_model() -> Path | None:
    """The arbitrary-style model named by ``STX_ARBITRARY_MODEL`` (see :mod:`stx_tf.arbitrary`), if set."""
    value = _get("STX_ARBITRARY_MODEL")
    return Path(value).expanduser() if value else None


def log_level() -> str:
    return (_get("STX_LOG") or "INFO").upper()


def on_kaggle() -> bool:
    """Running inside a Kaggle kernel."""
    return _get("KAGGLE_KERNEL_RUN_TYPE") is not None or Path("/kaggle/input").is_dir()


def on_colab() -> bool:
    """Running inside Google Colab."""
    return _get("COLAB_RELEASE_TAG") is not None or _get("COLAB_GPU") is not None


def tpu_environment() -> dict[str, str]:
    """The TPU variables of :data:`TPU_ENV` that are set (name → value)."""
    return {name: value for name in TPU_ENV if (value := _get(name)) is not None}


def backend_override() -> str | None:
    """``STX_BACKEND``, lower-cased: the Keras backend asked for explicitly (``jax`` / ``tensorflow``)."""
    value = _get("STX_BACKEND")
    return value.strip().lower() if value else None


def keras_backend() -> str | None:
    """``KERAS_BACKEND`` as set in the environment (Keras reads it when it is first imported)."""
    value = _get("KERAS_BACKEND")
    return value.strip().lower() if value else None


def set_keras_backend(name: str) -> None:
    """Set ``KERAS_BACKEND`` for a Keras that is not imported yet (see :func:`stx_tf.backend.choose`)."""
    os.environ["KERAS_BACKEND"] = name


def kaggle_input() -> Path:
    """Kaggle's read-only input folder (``STX_KAGGLE_INPUT``, default ``/kaggle/input``)."""
    return Path(_get("STX_KAGGLE_INPUT") or "/kaggle/input")


def onednn_isa_cap() -> str | None:
    """oneDNN's instruction-set cap, lower-cased: ``ONEDNN_MAX_CPU_ISA`` (``DNNL_MAX_CPU_ISA``, its old name),
    e.g. ``avx2`` to run an AMX CPU like an AVX2-only one (see :func:`stx_tf.precision.cpu_has_bf16`)."""
    value = _get("ONEDNN_MAX_CPU_ISA") or _get("DNNL_MAX_CPU_ISA")
    return value.strip().lower() if value and value.strip() else None


def tf_config() -> str | None:
    """The raw ``TF_CONFIG`` (multi-worker training), if set."""
    return _get("TF_CONFIG")


def quiet_tensorflow() -> None:
    """Hide TensorFlow's C++ start-up chatter (CUDA probing etc.) unless ``TF_CPP_MIN_LOG_LEVEL`` is set."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def get_logger(name: str = "stx_tf") -> logging.Logger:
    """The package logger, printing ``stx_tf: message`` lines once configured."""
    logger = logging.getLogger(name)
    root = logging.getLogger("stx_tf")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(log_level())
        root.propagate = False
    return logger
