"""Image folders and zips: the competition's ``monet_jpg/`` / ``photo_jpg/``, or any user folder.

Every file is checked when the folder is listed (a header read, no full decode), so a non-image file is
reported by name before training starts. Conversion and size policy: :mod:`stx_tf.data.images`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import tensorflow as tf
from PIL import Image, UnidentifiedImageError

from stx_tf.data.decode import decode_image
from stx_tf.data.images import IMAGE_SUFFIXES
from stx_tf.settings import get_logger

log = get_logger(__name__)


def _check_header(path) -> str | None:
    try:
        with Image.open(path) as img:
            img.size  # noqa: B018 - header read only
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        return f"not a readable image ({err.__class__.__name__})"
    return None


def list_images(folder, skip_bad: bool = False, check: bool = True) -> list[Path]:
    """Sorted image files of a folder (not recursive; hidden files ignored).

    Args:
        folder: the folder.
        skip_bad: skip files that are not readable images (warning with a count) instead of raising.
        check: open each file's header to verify it is an image.

    Raises:
        ValueError: missing or empty folder, or (without ``skip_bad``) a file that is not an image.
    """
    folder = Path(folder)
    if not folder.exists():
        raise ValueError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder")
    files, bad = [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            bad.append(f"{path}: not an image file (suffix {path.suffix or 'none'})")
            continue
        reason = _check_header(path) if check else None
        if reason:
            bad.append(f"{path}: {reason}")
        else:
            files.append(path)
    if bad and not skip_bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise ValueError(f"{bad[0]}{more}. Pass skip_bad=True (--skip-bad) to skip such files.")
    if bad:
        log.warning("skipped %d non-image file(s) in %s, e.g. %s", len(bad), folder, bad[0])
    if not files:
        raise ValueError(f"{folder}: no images found (looked for {', '.join(IMAGE_SUFFIXES)})")
    return files


def _output(data, name, size: int, with_names: bool, encoded: bool):
    image = data if encoded else decode_image(data, size)
    return (image, name) if with_names else image


def files_dataset(files, size: int = 256, with_names: bool = False, encoded: bool = False) -> tf.data.Dataset:
    """Decode a list of image files into float32 ``(size, size, 3)`` images in ``[-1, 1]``
    (``encoded``: their bytes, undecoded)."""
    paths = [str(p) for p in files]
    names = [Path(p).stem for p in paths]
    ds = tf.data.Dataset.from_tensor_slices((paths, names))

    def load(path, name):
        return _output(tf.io.read_file(path), name, size, with_names, encoded)

    return ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)


def read_image_folder(
    folder, size: int = 256, with_names: bool = False, skip_bad: bool = False, encoded: bool = False
) -> tf.data.Dataset:
    """Read a folder of JPEG/PNG/... images (any mode, any size) as float32 ``[-1, 1]`` squares."""
    return files_dataset(list_images(folder, skip_bad=skip_bad), size, with_names, encoded)


def zip_members(path, skip_bad: bool = False, check: bool = True) -> list[str]:
    """Image entries of a zip file (sorted); non-image entries raise unless ``skip_bad``.

    With ``check``, each entry's header is read to make sure it really is an image.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
            good, bad = [], []
            for name in names:
                if Path(name).suffix.lower() not in IMAGE_SUFFIXES or Path(name).name.startswith("."):
                    bad.append(name)
                elif check and _check_header(zf.open(name)):
                    bad.append(name)
                else:
                    good.append(name)
    except zipfile.BadZipFile as err:
        raise ValueError(f"{path}: not a valid zip file ({err})") from None
    if bad and not skip_bad:
        raise ValueError(f"{path}: entry {bad[0]!r} is not an image ({len(bad)} such entries)")
    if bad:
        log.warning("skipped %d non-image entries in %s, e.g. %r", len(bad), path, bad[0])
    if not good:
        raise ValueError(f"{path}: the zip holds no images")
    return sorted(good)


def read_zip(
    path, size: int = 256, with_names: bool = False, skip_bad: bool = False, encoded: bool = False
) -> tf.data.Dataset:
    """Stream the images of a zip file (e.g. a submission's ``images.zip``), one entry at a time."""
    members = zip_members(path, skip_bad=skip_bad)
    path = str(path)

    def entries():
        with zipfile.ZipFile(path) as zf:
            for name in members:
                yield zf.read(name), Path(name).stem

    spec = (tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.string))
    ds = tf.data.Dataset.from_generator(entries, output_signature=spec)
    ds = ds.apply(tf.data.experimental.assert_cardinality(len(members)))

    def load(data, name):
        return _output(data, name, size, with_names, encoded)

    return ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
