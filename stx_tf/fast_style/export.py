"""Export a transform net for use outside Keras: TensorFlow SavedModel and TFLite.

Both keep the dynamic input ``(batch, height, width, 3)`` float32 in ``[0, 1]``; the output has the same
shape in ``[0, 1]``. SavedModel: ``tf.saved_model.load(path).serve(images)`` (signature
``serving_default``). TFLite: builtin ops only; resize the input tensor to the image size before
``allocate_tensors()`` (see :func:`run_tflite`). Writes are atomic: a temporary sibling is renamed.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from stx_tf.fast_style.nets import is_transform_net
from stx_tf.fast_style.presets import load_preset

FORMATS = ("savedmodel", "tflite")


def _saved_model(model, target: Path) -> None:
    model.export(str(target), format="tf_saved_model", verbose=False)


def _clear(path: Path) -> None:
    """Remove an earlier export at ``path`` (a SavedModel folder or a file), refusing anything else."""
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise ValueError(f"{path}: exists and is not a SavedModel folder; refusing to overwrite")
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def export(model, path, format: str = "savedmodel") -> Path:
    """Export ``model`` (a transform net, preset name or ``.keras`` path) to ``path``.

    Args:
        model: the transform net or where to load it from.
        path: output folder (SavedModel) or file (TFLite, ``.tflite`` is appended when missing).
        format: ``"savedmodel"`` or ``"tflite"``.

    Returns:
        The written path.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    model = load_preset(model) if isinstance(model, str | Path) else model
    if not is_transform_net(model):
        raise ValueError(f"{getattr(model, 'name', model)!r} is not a fast-style transform net")
    path = Path(path)
    if format == "tflite" and path.suffix != ".tflite":
        path = path.with_name(path.name + ".tflite")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as tmp:
        staged = Path(tmp) / "savedmodel"
        _saved_model(model, staged)
        if format == "tflite":
            converter = tf.lite.TFLiteConverter.from_saved_model(str(staged))
            staged = Path(tmp) / "model.tflite"
            staged.write_bytes(converter.convert())
        _clear(path)
        staged.replace(path)
    return path


def run_tflite(path, images) -> np.ndarray:
    """Run an exported TFLite transform net on ``(B, H, W, 3)`` float images in ``[0, 1]``."""
    images = np.asarray(images, np.float32)
    interpreter = tf.lite.Interpreter(model_path=str(path))
    inp = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(inp["index"], list(images.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], images)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
