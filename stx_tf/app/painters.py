"""Painters the demo offers: "any painting" instantly (Magenta's networks), trained models found on disk
(instant) and Gatys "any painting" (best quality, slow).

* ``arbitrary``: :func:`stx_tf.arbitrary.paint` with a style image the person uploads (Ghiasi et al. 2017,
  https://arxiv.org/abs/1705.06830): offered first when the model files are found
  (:func:`stx_tf.arbitrary.find_model`, without downloading).

* ``fast_style``: a transform net of :mod:`stx_tf.fast_style` saved as ``NAME.keras`` (+ ``NAME.json``),
  ``[0, 1]`` RGB in and out (Johnson et al. 2016, https://arxiv.org/abs/1603.08155).
* ``cyclegan``: a CycleGAN photo → Monet generator of :mod:`stx_tf.cyclegan`, ``[-1, 1]`` in and out
  (Zhu et al. 2017, https://arxiv.org/abs/1703.10593): a ``.keras`` file whose model name contains
  ``generator``, or a training run folder (``run.json`` with ``checkpoints/`` or ``monet_generator.keras``).
* ``gatys``: :func:`stx_tf.nst.stylize` against a style image the person uploads (Gatys et al. 2015,
  https://arxiv.org/abs/1508.06576). Always offered.

Discovery only reads each ``.keras`` archive's ``config.json`` and looks for run folders (no weights are
loaded), so a models folder
full of files starts the app instantly; a painter type appears only when its files are there. Models are
loaded on first use and cached (:class:`ModelCache`).
"""

from __future__ import annotations

import json
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stx_tf.settings import get_logger

log = get_logger("stx_tf.app")

KINDS = ("arbitrary", "fast_style", "cyclegan", "gatys")
GATYS_KEY = "gatys"
ARBITRARY_KEY = "arbitrary"
#: Kinds that paint with a style image the person uploads.
STYLE_KINDS = ("arbitrary", "gatys")
#: File stems that say nothing about the painter (the folder name is used instead).
_GENERIC_STEMS = {"transform", "model", "generator", "final", "best", "latest"}
_FAST_STYLE_NAME = "stx_fast_style_transform"  # stx_tf.fast_style.nets.MODEL_NAME, read without keras


@dataclass(frozen=True)
class Painter:
    """One entry of the painter menu.

    Attributes:
        key: stable identifier (the file path relative to the models folder, or ``"gatys"``).
        label: what the person sees.
        kind: one of :data:`KINDS`.
        path: the model file (``None`` for Gatys).
        info: the sidecar JSON (fast-style presets) or ``{}``.
    """

    key: str
    label: str
    kind: str
    path: Path | None = None
    info: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def instant(self) -> bool:
        return self.kind != "gatys"

    @property
    def needs_style(self) -> bool:
        return self.kind in STYLE_KINDS


def gatys_painter() -> Painter:
    return Painter(GATYS_KEY, "Any painting — best quality (slower)", "gatys")


def arbitrary_painter(source="auto") -> Painter | None:
    """The instant any-painting painter when its model is found (``source``: a path, ``"auto"`` to look
    where :func:`stx_tf.arbitrary.find_model` looks, without downloading, or ``None``: off)."""
    if source is None:
        return None
    from stx_tf.arbitrary import ModelNotFoundError, find_model

    try:
        path = find_model(None if source == "auto" else source, download=False)
    except ModelNotFoundError as err:
        if source != "auto":
            log.warning("%s", err)
        return None
    return Painter(ARBITRARY_KEY, "Any painting — instant", "arbitrary", path)


def _archive_config(path: Path) -> dict | None:
    """The ``config.json`` of a Keras 3 ``.keras`` archive, or ``None`` when it is not one."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def _input_channels(config: dict) -> int | None:
    layers = config.get("config", {}).get("layers") or []
    shapes = [
        layer.get("config", {}).get("batch_shape")
        for layer in layers
        if layer.get("class_name") == "InputLayer"
    ]
    if len(shapes) != 1 or not shapes[0]:
        return None
    return shapes[0][-1]


def classify_model_file(path) -> str | None:
    """``"fast_style"``, ``"cyclegan"`` or ``None`` (not a painter) for a ``.keras`` file, from its config."""
    config = _archive_config(Path(path))
    if not config:
        return None
    name = str(config.get("config", {}).get("name", ""))
    if _input_channels(config) != 3:
        return None
    if name.startswith(_FAST_STYLE_NAME):
        return "fast_style"
    if "generator" in name.lower():
        return "cyclegan"
    return None


def _read_sidecar(path: Path) -> dict:
    try:
        info = json.loads(path.with_suffix(".json").read_text())
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def _label(path: Path, kind: str, info: dict) -> str:
    name = info.get("name") or info.get("preset")
    if not name:
        name = path.parent.name if path.stem.lower() in _GENERIC_STEMS and path.parent.name else path.stem
        style = info.get("style") or info.get("style_image")
        if style and path.stem.lower() in _GENERIC_STEMS:
            name = Path(str(style)).stem
    name = str(name).replace("_", " ").strip()
    return f"{name} ({'fast style' if kind == 'fast_style' else 'CycleGAN'}, instant)"


def _cyclegan_runs(root: Path) -> list[Path]:
    """CycleGAN run folders (``run.json`` + checkpoints or the saved generator): ``root`` or its sub-folders."""
    from stx_tf.cyclegan.train import GENERATOR_FILE
    from stx_tf.training.checkpoint import CHECKPOINTS
    from stx_tf.training.run import RUN_FILE

    folders = [root] + sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [
        f
        for f in folders
        if (f / RUN_FILE).is_file() and ((f / CHECKPOINTS).is_dir() or (f / GENERATOR_FILE).is_file())
    ]


def discover_painters(models_dir=None, depth: int = 2, arbitrary="auto") -> list[Painter]:
    """Painters available now: instant any-painting, model files under ``models_dir``, then Gatys.

    Args:
        models_dir: the folder to scan (default :func:`stx_tf.settings.models_dir`); missing is fine.
        depth: how many folder levels to look into (``models/x.keras``, ``models/run1/transform.keras``).
        arbitrary: the instant any-painting model (see :func:`arbitrary_painter`).

    Returns:
        :func:`arbitrary_painter` when found, instant painters sorted by label, then :func:`gatys_painter`. Files that are not painters
        (classifiers, discriminators, half-written ``.partial`` files, broken archives) are skipped.
    """
    from stx_tf import settings

    root = Path(models_dir) if models_dir is not None else settings.models_dir()
    found: list[Painter] = []
    if root.is_dir():
        runs = _cyclegan_runs(root)
        for run in runs:
            key = run.relative_to(root).as_posix() if run != root else run.name
            found.append(Painter(key, _label(run, "cyclegan", {}), "cyclegan", run))
        files = [p for level in range(depth) for p in root.glob("/".join(["*"] * level + ["*.keras"]))]
        for path in sorted(files):
            if any(part.startswith(".") for part in path.relative_to(root).parts) or not path.is_file():
                continue
            kind = classify_model_file(path)
            if kind is None or (kind == "cyclegan" and path.parent in runs):  # a run is listed once
                log.debug("%s: not a painter (or part of a CycleGAN run), skipped", path)
                continue
            info = _read_sidecar(path)
            key = path.relative_to(root).as_posix()
            found.append(Painter(key, _label(path, kind, info), kind, path, info))
    elif models_dir is not None:
        log.warning("models folder %s does not exist: only 'any painting' (Gatys) is offered", root)
    labels = [p.label for p in found]
    found = [  # two files with one name: tell them apart by their key
        p if labels.count(p.label) == 1 else Painter(p.key, f"{p.label} [{p.key}]", p.kind, p.path, p.info)
        for p in found
    ]
    instant_any = arbitrary_painter(arbitrary)
    return (
        [instant_any] * bool(instant_any) + sorted(found, key=lambda p: p.label.lower()) + [gatys_painter()]
    )


# ------------------------------------------------------------------------------------------ running
def load_painter_model(painter: Painter):
    """Load an instant painter: Magenta's arbitrary-style networks, a compiled fast-style predictor or a
    CycleGAN generator (Keras model).

    Raises:
        ValueError: the file is gone, broken, or not the kind of model its config announced.
    """
    if painter.kind == "arbitrary":
        from stx_tf.arbitrary import load_model

        return load_model(painter.path, download=False)
    if painter.kind == "fast_style":  # a compiled any-size function: (B, H, W, 3) -> (B, H, W, 3)
        from stx_tf.fast_style.inference import predictor
        from stx_tf.fast_style.storage import load_transform

        return predictor(load_transform(painter.path))
    if painter.kind == "cyclegan":  # a .keras generator or a run folder (its newest generator)
        from stx_tf import engine
        from stx_tf.cyclegan.train import load_generator

        return engine.optimise(load_generator(painter.path))  # float32: the CPU engine's cheaper layers
    raise ValueError(f"painter {painter.label!r} has no model file")


class ModelCache:
    """Loaded painter models, the ``size`` most recently used kept in memory (thread-safe)."""

    def __init__(self, size: int = 4):
        self.size = size
        self._models: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, painter: Painter):
        with self._lock:
            if painter.key in self._models:
                self._models.move_to_end(painter.key)
                return self._models[painter.key]
            model = load_painter_model(painter)
            self._models[painter.key] = model
            while len(self._models) > self.size:
                self._models.popitem(last=False)
            return model


def _down_factor(model) -> int:
    """The input side multiple a generator needs: 2 ** (number of stride-2 convolutions)."""
    import keras

    strided = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D)
        and not isinstance(layer, keras.layers.Conv2DTranspose)
        and max(layer.strides) > 1
    ]
    return 2 ** len(strided)


def run_generator(model, image: np.ndarray) -> np.ndarray:
    """A CycleGAN generator on one float ``[0, 1]`` image ``(H, W, 3)`` -> float ``[0, 1]``, same size.

    The image is reflect-padded to the multiple the generator's strides need and cropped back; a generator
    built for a fixed size gets the image resized to it and back.
    """
    from stx_tf.data.imageops import resize

    height, width = image.shape[:2]
    fixed = tuple(model.input_shape[1:3])
    if all(fixed):
        x = resize(image, *fixed)
    else:
        m = _down_factor(model)
        x = np.pad(image, ((0, -height % m), (0, -width % m), (0, 0)), mode="reflect")
    y = np.asarray(model(x[None] * 2.0 - 1.0, training=False))[0]
    y = np.clip((y + 1.0) * 0.5, 0.0, 1.0)
    return resize(y, height, width) if all(fixed) else y[:height, :width]


def run_instant(
    painter: Painter, model, image: np.ndarray, style: np.ndarray | None = None, **paint_kw
) -> np.ndarray:
    """Apply an instant painter (``model`` from :func:`load_painter_model`) to a float ``[0, 1]`` image
    (any painting: uint8 images too; ``style``, ``paint_kw``: the painting and :func:`stx_tf.arbitrary.paint`'s
    options)."""
    if painter.kind == "arbitrary":
        from stx_tf.arbitrary import paint

        return paint(image, style if style is not None else image, model=model, **paint_kw)
    if painter.kind == "fast_style":
        return np.clip(np.asarray(model(image[None]))[0], 0.0, 1.0)
    return run_generator(model, image)
