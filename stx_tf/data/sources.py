"""One entry point for user input: any folder, zip, TFRecord set, glob or list of images."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import tensorflow as tf

from stx_tf.data.folders import files_dataset, list_images, read_image_folder, read_zip, zip_members
from stx_tf.data.images import IMAGE_SUFFIXES, is_jpeg_bytes
from stx_tf.data.tfrecords import TFREC_SUFFIXES, count_records, is_remote, read_tfrecords


def source_kind(source) -> str:
    """Classify an input: ``"tfrecords"``, ``"folder"``, ``"zip"``, ``"files"`` or ``"file"``.

    Raises:
        ValueError: the source does not exist or is of an unknown kind.
    """
    if isinstance(source, list | tuple):
        if not source:
            raise ValueError("empty list of inputs")
        suffixes = {Path(str(s)).suffix.lower() for s in source}
        return "tfrecords" if suffixes <= set(TFREC_SUFFIXES) else "files"
    text = str(source)
    if is_remote(text) or any(c in text for c in "*?["):
        return "tfrecords"
    path = Path(text)
    if path.is_dir():
        has_tfrec = any(p.suffix.lower() in TFREC_SUFFIXES for p in path.iterdir())
        return "tfrecords" if has_tfrec else "folder"
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return "zip"
    if suffix in TFREC_SUFFIXES:
        return "tfrecords"
    if suffix in IMAGE_SUFFIXES:
        return "file"
    raise ValueError(f"{path}: not an image, zip, folder or TFRecord file")


def load_images(
    source, size: int = 256, with_names: bool = False, skip_bad: bool = False, encoded: bool = False
) -> tf.data.Dataset:
    """Load any supported source as float32 ``(size, size, 3)`` images in ``[-1, 1]``.

    Args:
        source: a folder of images, a folder of ``.tfrec`` files, a glob or ``gs://`` pattern, a ``.zip`` of
            images, one image file, or a list of image / TFRecord files.
        size: output side (shorter side resized, then centre crop; see :mod:`stx_tf.data.images`).
        with_names: yield ``(image, name)`` pairs.
        skip_bad: skip unusable files / records with a warning instead of raising.
        encoded: yield the encoded bytes (scalar strings) instead of decoded images, for
            :func:`stx_tf.data.augment`, which decodes a JPEG only inside its random crop window
            (the fastest training input); ``size`` then applies in the augmenter.
    """
    kind = source_kind(source)
    options = {"size": size, "with_names": with_names, "encoded": encoded}
    if kind == "tfrecords":
        return read_tfrecords(source, skip_bad=skip_bad, **options)
    if kind == "folder":
        return read_image_folder(source, skip_bad=skip_bad, **options)
    if kind == "zip":
        return read_zip(source, skip_bad=skip_bad, **options)
    files = [source] if kind == "file" else list(source)
    for f in files:
        if not os.path.isfile(f):
            raise ValueError(f"{f}: no such file")
    return files_dataset(files, **options)


def count_images(source, skip_bad: bool = False) -> int:
    """Number of images in a source, without decoding them."""
    kind = source_kind(source)
    if kind == "tfrecords":
        return count_records(source)
    if kind == "folder":
        return len(list_images(source, skip_bad=skip_bad))
    if kind == "zip":
        return len(zip_members(source, skip_bad=skip_bad, check=False))
    return 1 if kind == "file" else len(source)


def all_jpeg(source) -> bool:
    """Whether every image of ``source`` is stored as JPEG bytes, so that the augmenter of its encoded
    images can skip the format dispatch (``augmenter(jpeg_only=all_jpeg(source))``, a fifth faster).

    TFRecords: always (their schema is JPEG; :func:`read_tfrecords` checks local files record by record).
    Folders, zips and files: the first bytes of every image are read (milliseconds for thousands).
    """
    kind = source_kind(source)
    if kind == "tfrecords":
        return True
    if kind == "zip":
        members = zip_members(source, skip_bad=True, check=False)
        with zipfile.ZipFile(source) as zf:
            return all(is_jpeg_bytes(zf.open(name).read(3)) for name in members)
    if kind == "folder":
        files = list_images(source, skip_bad=True, check=False)
    else:
        files = [source] if kind == "file" else list(source)

    def starts_jpeg(path) -> bool:
        with open(path, "rb") as f:
            return is_jpeg_bytes(f.read(3))

    return all(starts_jpeg(path) for path in files)
