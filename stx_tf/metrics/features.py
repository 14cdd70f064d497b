"""Batched feature extraction from any image source, and the cached statistics of a real set.

Sources are whatever :func:`stx_tf.data.load_images` reads: a ``.zip`` of images (a submission's
``images.zip``), a folder of images, a folder / glob / list of TFRecords (``gs://`` too), or a list of
files. JPEGs are decoded as PIL decodes them, as Kaggle's scorer reads them
(:func:`stx_tf.data.decode.decode_image` with ``exact=True``; training inputs are not affected). Images
of other sizes are resized to 256×256 on load (shorter side, then centre crop); the extractor then
applies its own input size. Images stream through ``tf.data`` in batches, so memory holds one batch
of pixels plus the ``(N, D)`` feature matrix (7,038 × 2,048 float64 ≈ 115 MB).

Real-set features (with their mean and covariance) are cached in an ``.npz`` under
``stx_tf.settings.cache_dir() / "metrics"``, keyed by a hash of every input file (name, size,
modification time - remote ``gs://`` files listed with ``tf.io.gfile``), the extractor (network, weights
fingerprint, compute precision), the image size and the limit, and reused by later scores.
"""

from __future__ import annotations

import dataclasses
import hashlib
from functools import cached_property
from pathlib import Path

import numpy as np

from stx_tf import settings
from stx_tf.atomic import atomic_path
from stx_tf.metrics.extractors import FeatureExtractor
from stx_tf.metrics.fid import feature_stats

log = settings.get_logger(__name__)

#: Images per batch through the extractor.
DEFAULT_BATCH = 32

#: Side of the square images the sources are decoded to (the competition's size).
IMAGE_SIZE = 256

#: Bump when the cache layout or the feature computation changes (2: PIL-exact JPEG decoding, keys
#: with weights and precision, remote sources listed).
_CACHE_VERSION = 2


@dataclasses.dataclass
class FeatureSet:
    """Features of one image set.

    Attributes:
        features: ``(N, D)`` float64 feature rows, in the source's order.
        names: image names (file stems / TFRecord ``image_name``), same order.
        source: where the images came from.
        extractor: the extractor's label.
    """

    features: np.ndarray
    names: list[str]
    source: str
    extractor: str

    @cached_property
    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, sigma)`` of the features."""
        return feature_stats(self.features)

    def __len__(self) -> int:
        return len(self.features)


def _check_count(source, n: int) -> None:
    if n < 2:
        raise ValueError(f"{source}: {n} image(s) found; FID / MiFID need at least 2 images per side")


def _count(source) -> int:
    from stx_tf.data import count_images

    return count_images(source)


def iter_batches(source, batch_size: int = DEFAULT_BATCH, size: int = IMAGE_SIZE, limit: int | None = None):
    """Yield ``(images, names)`` batches (float32 ``[-1, 1]``) from any supported source.

    JPEGs are decoded bit-identically to PIL (as Kaggle's scorer reads them). ``limit`` keeps only the
    first ``limit`` images (smoke runs, quick looks).
    """
    import tensorflow as tf

    from stx_tf.data import load_images
    from stx_tf.data.decode import decode_image
    from stx_tf.data.pipeline import one_pass

    ds = load_images(source, size=size, with_names=True, encoded=True)
    if limit:
        ds = ds.take(limit)
    ds = ds.map(lambda data, name: (decode_image(data, size, exact=True), name), tf.data.AUTOTUNE)
    ds = one_pass(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))
    for images, names in ds:
        yield images, [n.decode("utf-8", "replace") for n in names.numpy()]


def extract_features(
    source,
    extractor: FeatureExtractor,
    batch_size: int = DEFAULT_BATCH,
    size: int = IMAGE_SIZE,
    progress: bool = True,
    limit: int | None = None,
) -> FeatureSet:
    """Run ``extractor`` over every image of ``source`` (or the first ``limit``) in batches, with a progress bar.

    Raises:
        ValueError: unreadable source, non-image entries, or fewer than 2 images.
    """
    import keras

    total = min(_count(source), limit or np.inf)
    _check_count(source, total)
    bar = keras.utils.Progbar(int(total), unit_name="image") if progress else None
    chunks, names = [], []
    for images, batch_names in iter_batches(source, batch_size, size, limit):
        chunks.append(extractor(images))
        names.extend(batch_names)
        if bar is not None:
            bar.add(len(batch_names))
    features = np.concatenate(chunks) if chunks else np.zeros((0, extractor.dim))
    _check_count(source, len(features))
    if not np.isfinite(features).all():
        raise ValueError(f"{source}: the extractor produced NaN/inf features ({extractor.label})")
    return FeatureSet(features=features, names=names, source=str(source), extractor=extractor.label)


def _is_pattern(text: str) -> bool:
    return any(c in text for c in "*?[")


def _remote_entries(text: str) -> list[str]:
    """``name|size|mtime`` of every remote file a ``gs://`` (or other ``tf.io.gfile``) source reads."""
    import tensorflow as tf

    gfile = tf.io.gfile
    if _is_pattern(text):
        paths = gfile.glob(text)
    elif gfile.isdir(text):
        paths = [f"{text.rstrip('/')}/{name}" for name in gfile.listdir(text)]
    else:
        paths = [text]
    entries = []
    for path in sorted(paths):
        try:
            stat = gfile.stat(path)
            entries.append(f"{path}|{stat.length}|{stat.mtime_nsec}")
        except Exception:  # tf.errors.* of any remote file system: the name still counts
            entries.append(f"{path}|?")
    return entries


def source_files(source) -> list[Path]:
    """The local files a source is read from: the zip itself, a folder's files, a glob's matches."""
    if isinstance(source, list | tuple):
        return [Path(str(s)) for s in source]
    text = str(source)
    if _is_pattern(text):
        import glob

        return [Path(p) for p in sorted(glob.glob(text))]
    path = Path(text)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    return [path]


def source_entries(source) -> list[str]:
    """``name|size|mtime`` of every file ``source`` reads, local or remote (what the cache key hashes)."""
    from stx_tf.data.tfrecords import is_remote

    if isinstance(source, list | tuple):
        return [entry for item in source for entry in source_entries(str(item))]
    text = str(source)
    if is_remote(text):
        return _remote_entries(text)
    entries = []
    for path in source_files(source):
        if not path.exists():
            entries.append(f"{path}|?")
            continue
        stat = path.stat()
        entries.append(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}")
    return entries


def cache_key(source, extractor: FeatureExtractor, size: int = IMAGE_SIZE, limit: int | None = None) -> str:
    """Hash of every source file (name, size, mtime; remote ones too) + the extractor's key (network, weights,
    precision) + the image size (+ limit)."""
    digest = hashlib.sha256(f"v{_CACHE_VERSION}|{extractor.key or extractor.label}|{size}|{limit}".encode())
    for entry in source_entries(source):
        digest.update(entry.encode())
    return digest.hexdigest()[:24]


def _cache_path(cache, key: str) -> Path | None:
    if cache is None or cache is False:
        return None
    if cache is True:
        return settings.cache_dir() / "metrics" / f"real_{key}.npz"
    cache = Path(cache)
    return cache if cache.suffix == ".npz" else cache / f"real_{key}.npz"


def _save_npz(path: Path, **arrays) -> None:
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)


def real_features(
    source,
    extractor: FeatureExtractor,
    cache=True,
    batch_size: int = DEFAULT_BATCH,
    size: int = IMAGE_SIZE,
    progress: bool = True,
    limit: int | None = None,
) -> FeatureSet:
    """Features and statistics of the real set, read from / written to the cache.

    Args:
        source: the real images (folder, zip, TFRecords, ...).
        extractor: the feature extractor.
        cache: ``True`` (default folder under ``STX_CACHE_DIR``), a folder, an ``.npz`` path, or
            ``False`` / ``None`` to skip caching.
        batch_size, size, progress, limit: as :func:`extract_features`.
    """
    key = cache_key(source, extractor, size, limit)
    path = _cache_path(cache, key)
    if path is not None and path.is_file():
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) == key:
                log.info("real-set statistics from cache %s", path)
                fs = FeatureSet(
                    data["features"].astype(np.float64), list(data["names"]), str(source), extractor.label
                )
                fs.stats = (data["mu"], data["sigma"])
                return fs
        log.info("cache %s belongs to another input; recomputing", path)
    fs = extract_features(source, extractor, batch_size=batch_size, size=size, progress=progress, limit=limit)
    if path is not None:
        mu, sigma = fs.stats
        names = np.array(fs.names, dtype=str)
        _save_npz(
            path, key=np.array(key), mu=mu, sigma=sigma, features=fs.features.astype(np.float32), names=names
        )
        log.info("real-set statistics cached in %s", path)
    return fs
