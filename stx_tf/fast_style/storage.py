"""Saving and loading transform nets: ``NAME.keras`` plus a ``NAME.json`` sidecar describing the preset.

The ``.keras`` file is self-contained (architecture + weights, custom layers registered in
:mod:`stx_tf.fast_style.nets`); the sidecar only adds what a user wants to see in ``stx fast-style
list`` (style image, backbone, size, steps, final losses). Both are written atomically (tmp + rename).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import keras

from stx_tf import atomic
from stx_tf.fast_style.nets import MODEL_NAME, is_transform_net

MODEL_SUFFIX = ".keras"


def info_path(model_path) -> Path:
    """The sidecar JSON of a ``.keras`` model file."""
    return Path(model_path).with_suffix(".json")


def save_transform(model: keras.Model, path, info: dict | None = None) -> Path:
    """Save a transform net as ``path`` (``.keras``) and its ``info`` sidecar, atomically.

    Raises:
        ValueError: ``model`` is not a transform net or ``path`` does not end in ``.keras``.
    """
    path = Path(path)
    if path.suffix != MODEL_SUFFIX:
        raise ValueError(f"{path}: a fast-style model file must end in {MODEL_SUFFIX}")
    if not is_transform_net(model):
        raise ValueError(
            f"refusing to save {getattr(model, 'name', model)!r}: not a fast-style transform net"
        )
    with atomic.atomic_path(path) as tmp:
        model.save(tmp)
    if info is not None:
        write_info(path, info)
    return path


def write_info(model_path, info: dict) -> Path:
    """Write the sidecar JSON of ``model_path`` atomically."""
    return atomic.write_text(info_path(model_path), json.dumps(info, indent=2, sort_keys=True, default=str))


def read_info(model_path) -> dict:
    """The sidecar of ``model_path`` (``{}`` when absent or unreadable)."""
    target = info_path(model_path)
    try:
        return json.loads(target.read_text())
    except (OSError, ValueError):
        return {}


def load_transform(path) -> keras.Model:
    """Load a transform net saved by :func:`save_transform`.

    Raises:
        ValueError: missing file, a folder (e.g. an exported SavedModel), a file that is not a Keras model,
            or a Keras model of another kind (a CycleGAN generator, a classifier, ...).
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such model file")
    if path.is_dir():
        raise ValueError(
            f"{path}: is a folder (an exported SavedModel?); give a fast-style {MODEL_SUFFIX} file"
        )
    if path.suffix != MODEL_SUFFIX or not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a Keras {MODEL_SUFFIX} model file")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # unknown custom layers, corrupt archive, ...
        raise ValueError(
            f"{path}: cannot be loaded as a fast-style model ({type(err).__name__}: {err})"
        ) from None
    if not is_transform_net(model):
        raise ValueError(
            f"{path}: holds a model named {getattr(model, 'name', '?')!r}, not a fast-style transform net "
            f"(expected {MODEL_NAME!r}, RGB in and out)"
        )
    return model
