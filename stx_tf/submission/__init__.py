"""The Kaggle submission: :mod:`~stx_tf.submission.check` (the TF-free checker) and
:mod:`~stx_tf.submission.export` (the exporter that writes ``images.zip``)."""

from stx_tf.submission.check import (
    IMAGE_SIDE,
    JPEG_SUFFIXES,
    MAX_IMAGES,
    MIN_IMAGES,
    CheckReport,
    check_submission,
)


def __getattr__(name):  # the exporter needs TensorFlow: imported on first use only
    if name.startswith("__"):
        raise AttributeError(name)
    import importlib

    export = importlib.import_module("stx_tf.submission.export")
    if hasattr(export, name):
        return getattr(export, name)
    raise AttributeError(f"module 'stx_tf.submission' has no attribute {name!r}")


__all__ = [
    "IMAGE_SIDE",
    "JPEG_SUFFIXES",
    "MAX_IMAGES",
    "MIN_IMAGES",
    "CheckReport",
    "check_submission",
    "export_submission",
    "ExportReport",
    "inference_model",
]
