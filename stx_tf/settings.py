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
| ``STX_LOG`` | log level for the ``stx_tf`` logger (default ``INFO``) |
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}

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


def log_level() -> str:
    return (_get("STX_LOG") or "INFO").upper()


def on_kaggle() -> bool:
    """Running inside a Kaggle kernel."""
    return _get("KAGGLE_KERNEL_RUN_TYPE") is not None or Path("/kaggle/input").is_dir()


def on_colab() -> bool:
    """Running inside Google Colab."""
    return _get("COLAB_RELEASE_TAG") is not None or _get("COLAB_GPU") is not None


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
