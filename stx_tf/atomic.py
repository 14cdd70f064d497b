"""The one way stx_tf writes a file or a folder: never half-written under its final name.

Everything a run or a user keeps (checkpoints, ``run.json``, PNGs, ``images.zip``, cached statistics,
TFRecord shards, Keras files) is written under a hidden temporary name beside its target and renamed
onto it only when complete, so a crash, a full disk or a killed kernel leaves the previous version (or
nothing), never a truncated file that looks finished. The temporary name keeps the target's suffix,
because writers such as ``keras.Model.save``, ``numpy.savez`` and ``PIL.Image.save`` choose their
format from it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

#: Marker in every temporary name (what scanners such as the web demo's model list skip).
PARTIAL = ".partial"


def temporary_name(path) -> Path:
    """``dir/.name.<pid>.partial<suffix>`` beside ``path``: hidden, unique per process, same suffix."""
    path = Path(path)
    suffix = "".join(path.suffixes[-1:])
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    return path.with_name(f".{stem}.{os.getpid()}{PARTIAL}{suffix}")


def is_partial(path) -> bool:
    """True for a temporary name made by this module (a write in progress or one that crashed)."""
    return PARTIAL in Path(path).name


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed.

    Example::

        with atomic_path("runs/a/generator.keras") as tmp:
            model.save(tmp)

    The parent folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(path) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it replaces the folder ``path`` (removed first if it
    exists), on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{PARTIAL}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return ``path``."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path, payload, indent: int | None = 1) -> Path:
    """Write ``payload`` as JSON to ``path`` atomically; return ``path``."""
    return write_text(path, json.dumps(payload, indent=indent))
