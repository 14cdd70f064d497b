"""Painter presets: named transform nets in the models folder (``stx_tf.settings.models_dir()``).

A preset ``starry`` is ``<models_dir>/starry.keras`` plus ``starry.json`` (what it was trained on).
:func:`train_preset` trains and saves one; :func:`load_preset` accepts a preset name or any ``.keras``
path and refuses model files of another kind with a clear ``ValueError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import keras

from stx_tf import settings
from stx_tf.fast_style.storage import MODEL_SUFFIX, load_transform, read_info, save_transform

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Preset:
    """One saved preset: its name, file and sidecar information."""

    name: str
    path: Path
    info: dict

    def describe(self) -> str:
        bits = [f"{k}={self.info[k]}" for k in ("style", "backbone", "image_size", "epoch") if k in self.info]
        return f"{self.name}  {self.path}  " + " ".join(bits)


def _folder(models_dir=None) -> Path:
    return Path(models_dir) if models_dir is not None else settings.models_dir()


def check_name(name: str) -> str:
    """A preset name is a plain file stem: letters, digits, ``_ . -``."""
    if not _NAME.match(name or ""):
        raise ValueError(
            f"bad preset name {name!r}: use letters, digits, '_', '.', '-' (e.g. 'starry_night')"
        )
    return name


def list_presets(models_dir=None) -> list[Preset]:
    """Presets in the models folder, sorted by name (empty when the folder does not exist)."""
    folder = _folder(models_dir)
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.glob(f"*{MODEL_SUFFIX}") if not p.name.startswith("."))
    return [Preset(p.stem, p, read_info(p)) for p in files]


def preset_path(name_or_path, models_dir=None) -> Path:
    """Resolve a preset name or a model path to an existing file.

    Raises:
        ValueError: neither an existing path nor a known preset (the message lists the presets).
    """
    candidate = Path(str(name_or_path)).expanduser()
    if candidate.exists():
        return candidate
    folder = _folder(models_dir)
    named = folder / f"{name_or_path}{MODEL_SUFFIX}"
    if named.is_file():
        return named
    known = ", ".join(p.name for p in list_presets(models_dir)) or "none"
    raise ValueError(f"{name_or_path}: no such model file or preset in {folder} (presets: {known})")


def load_preset(name_or_path, models_dir=None) -> keras.Model:
    """Load a preset by name (from the models folder) or by path."""
    return load_transform(preset_path(name_or_path, models_dir))


def save_preset(model: keras.Model, name: str, info: dict | None = None, models_dir=None) -> Path:
    """Save ``model`` as preset ``name`` in the models folder; returns the ``.keras`` path."""
    path = _folder(models_dir) / f"{check_name(name)}{MODEL_SUFFIX}"
    return save_transform(model, path, {"name": name, **(info or {})})


def train_preset(config, models_dir=None, **train_kwargs):
    """Train on ``config`` (:class:`stx_tf.fast_style.config.FastStyleConfig`) and save the preset.

    The preset is named ``config.name`` or the painting's file stem. Returns ``(preset_path, TrainResult)``.
    """
    from stx_tf.fast_style.train import train

    name = check_name(config.name or Path(config.style).stem)
    result = train(config, **train_kwargs)
    info = {**result.info, "history": {k: v[-1] for k, v in result.history.items() if v}}
    from stx_tf.precision import cast_copy

    path = save_preset(cast_copy(result.transform, "float32"), name, info, models_dir)
    settings.get_logger(__name__).info("preset %r saved to %s", name, path)
    return path, result
