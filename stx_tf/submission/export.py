"""The submission exporter: a generator's paintings of every photo, as ``images.zip``.

:func:`export_submission` streams the photos through the generator in batches, encodes each result as a
JPEG at the chosen quality and writes it straight into the zip (no temporary folder of 7,000 files), so
memory stays flat. The zip is written under a temporary name (:mod:`stx_tf.atomic`) and renamed only once
it is complete and checked (:func:`stx_tf.submission.check.check_submission`): an interrupted export never
leaves an ``images.zip`` that looks finished. Names are the photos' own (``<image_name>.jpg``), made
unique and safe. Unreadable photo records are skipped and counted. With fewer than 7,000 usable photos it
stops with an error, unless ``fill_to`` (``--fill-to 7000``) asks for extra images: further passes over
the photos, each photo flipped and cropped differently (deterministic per pass), named
``<image_name>_vN.jpg``. The generator runs in the precision of :func:`stx_tf.precision.resolve`.
"""

from __future__ import annotations

import functools
import re
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stx_tf import atomic, precision
from stx_tf.settings import get_logger
from stx_tf.submission.check import IMAGE_SIDE, MAX_IMAGES, MIN_IMAGES, CheckReport, check_submission

log = get_logger(__name__)

#: Threads encoding JPEGs (PIL releases the GIL while it encodes).
ENCODE_THREADS = 2

#: Fixed timestamp for zip entries (reproducible archives).
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


# -------------------------------------------------------------------------------------------- export
@dataclass
class ExportReport:
    """Result of :func:`export_submission`."""

    path: Path
    written: int
    photos: int
    skipped: int
    filled: int
    seconds: float
    check: CheckReport | None = None

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        parts = [f"{self.path}: {self.written} images from {self.photos} photos"]
        if self.filled:
            parts.append(f"{self.filled} extra augmented images (fill_to)")
        if self.skipped:
            parts.append(f"{self.skipped} unusable photo(s) skipped")
        parts.append(f"{self.seconds:.1f} s ({self.images_per_second:.1f} images/s)")
        return ", ".join(parts)


def safe_stem(name: str) -> str:
    """A zip-safe file stem: letters, digits, ``_ . -``; never empty, never hidden."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-")
    return stem or "image"


def unique_name(stem: str, seen: set) -> str:
    """``stem.jpg``, or ``stem_2.jpg`` ... when taken; records the name in ``seen``."""
    name, k = f"{stem}.jpg", 1
    while name in seen:
        k += 1
        name = f"{stem}_{k}.jpg"
    seen.add(name)
    return name


def variant(images, names, index, pass_no):
    """Pass ``pass_no`` > 0 of ``fill_to``: flip on odd passes and a random 75-95 % crop resized back.

    Deterministic for a given (pass, photo index). Works on a batch ``(B, H, W, 3)`` of ``[-1, 1]``;
    ``pass_no`` may be a Python int or a scalar tensor (one pipeline serves every pass).
    """
    import tensorflow as tf

    pass_no = tf.cast(pass_no, tf.int64)
    batch = tf.shape(images)[0]
    side = tf.shape(images)[1]
    seeds = tf.stack([tf.fill([batch], pass_no), tf.cast(index, tf.int64)], axis=1)
    draws = tf.map_fn(
        lambda s: tf.random.stateless_uniform([3], seed=s), seeds, fn_output_signature=tf.float32
    )  # (B, 3): scale, y offset, x offset
    scale = 0.75 + 0.2 * draws[:, 0]
    y0, x0 = (1.0 - scale) * draws[:, 1], (1.0 - scale) * draws[:, 2]
    boxes = tf.stack([y0, x0, y0 + scale, x0 + scale], axis=1)
    out = tf.image.crop_and_resize(images, boxes, tf.range(batch), tf.stack([side, side]))
    out = tf.cond(pass_no % 2 == 1, lambda: tf.image.flip_left_right(out), lambda: out)
    suffix = tf.strings.join(["_v", tf.strings.as_string(pass_no)])
    return out, tf.strings.join([names, suffix]), index


def inference_model(generator, policy: str = "auto"):
    """The generator to run for export: in float32 its :func:`stx_tf.engine.optimise` copy (the same
    maths in cheaper layers; on a CPU Winograd's too, as the export calls it at one shape; GPU libraries
    have their own), else a copy computing in the policy of :func:`stx_tf.precision.resolve` (bfloat16
    where it is native, float16 on GPUs with tensor cores). Its output layer stays float32; outputs
    differ from float32 by far less than JPEG encoding changes."""
    import keras

    from stx_tf import engine
    from stx_tf.strategy import device_kind

    name = precision.resolve(policy)
    if not isinstance(generator, keras.Model):
        return generator
    if name == "float32":
        return engine.optimise(generator, winograd=device_kind() == "cpu")
    log.info("export runs the generator in %s", name)
    return precision.cast_copy(generator, name, keep=[generator.layers[-1]])


def default_export_batch() -> int:
    """Photos per generator call when none is given: 32 with a GPU or TPU, else 8."""
    from stx_tf.strategy import has_accelerator

    return 32 if has_accelerator() else 8


#: Decoded photos kept in memory for the fill passes when they take at most this many bytes (else each
#: pass decodes them again).
CACHE_BYTES = 1 << 29


def _stream(photos, size: int, batch_size: int, skip_bad: bool, first: int, stop: int, cache: bool):
    """Batches ``(images, names, index, pass)`` of passes ``first`` .. ``stop - 1`` in ONE pipeline: pass 0
    is the photos, later passes their :func:`variant` (no pipeline rebuilt, no photo decoded twice when
    ``cache``)."""
    import tensorflow as tf

    from stx_tf.data import load_images
    from stx_tf.data.pipeline import one_pass

    photos_ds = load_images(photos, size=size, with_names=True, skip_bad=skip_bad)
    photos_ds = photos_ds.enumerate().map(lambda i, pair: (pair[0], pair[1], i))
    if cache:
        photos_ds = photos_ds.cache()

    def batches_of_pass(pass_no):
        batches = photos_ds.batch(batch_size)
        return batches.map(
            lambda x, n, i: tf.cond(
                pass_no > 0, lambda: (*variant(x, n, i, pass_no), pass_no), lambda: (x, n, i, pass_no)
            )
        )

    ds = tf.data.Dataset.range(first, stop).flat_map(batches_of_pass)
    return one_pass(ds.prefetch(2))


@functools.cache
def _to_uint8_images():
    """The compiled ``(B, h, w, 3)`` float ``[-1, 1]`` -> ``(B, size, size, 3)`` uint8 step of
    :func:`to_jpegs` (bicubic resize when the side differs, rounding, clipping): one multi-threaded pass
    instead of several NumPy passes over the batch."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def convert(fakes, size):
        fakes = tf.cond(
            tf.shape(fakes)[1] == size,
            lambda: fakes,
            lambda: tf.image.resize(fakes, tf.stack([size, size]), method="bicubic"),
        )
        return tf.cast(tf.clip_by_value(fakes * 127.5 + 128.0, 0.0, 255.0), tf.uint8)  # round half up

    return convert


def to_jpegs(fakes, quality: int, size: int, pool=None) -> list[bytes]:
    """Generator outputs ``(B, h, w, 3)`` in ``[-1, 1]`` -> JPEG bytes of ``size``×``size`` images
    (encoded by the threads of ``pool`` when given: the encoder releases the GIL). The export encodes a
    batch between two generator calls, not during them: overlapping the two was measured 4% slower on
    2 cores (the encoder threads stall oneDNN's)."""
    from functools import partial

    from stx_tf.data.images import encode_jpeg

    images = _to_uint8_images()(np.asarray(fakes, np.float32), np.int32(size)).numpy()
    encode = partial(encode_jpeg, quality=quality)
    return list(pool.map(encode, images) if pool is not None else map(encode, images))


def paint_batch(paint, images: np.ndarray, batch_size: int) -> np.ndarray:
    """``paint(images)`` with a short last batch padded to ``batch_size`` (outputs cut back): one input
    shape, so the compiled generator is not traced again for the last few photos (seconds on a CPU).
    Safe because each image's output depends on that image only (instance norm, inference-mode batch norm)."""
    n = len(images)
    if 0 < n < batch_size:
        filler = np.zeros((batch_size - n, *images.shape[1:]), images.dtype)
        return np.asarray(paint(np.concatenate([images, filler])))[:n]
    return np.asarray(paint(images))


def _check_target(out_path: Path) -> None:
    if out_path.suffix.lower() != ".zip":
        raise ValueError(f"{out_path}: the submission must be a .zip file")
    try:
        atomic.write_bytes(out_path.with_name(f".{out_path.name}.write-test"), b"")
        out_path.with_name(f".{out_path.name}.write-test").unlink()
    except OSError as err:
        raise ValueError(f"{out_path.parent}: output folder is not writable ({err.strerror or err})") from None


def export_submission(
    generator,
    photos,
    out_path="images.zip",
    batch_size: int | None = None,
    quality: int = 95,
    size: int = IMAGE_SIDE,
    fill_to: int | None = None,
    min_count: int = MIN_IMAGES,
    max_count: int = MAX_IMAGES,
    skip_bad: bool = True,
    check: bool = True,
    progress: bool = True,
    precision: str = "auto",
    infer_size: int | None = None,
) -> ExportReport:
    """Translate every photo and write the results as JPEGs into a submission zip.

    Args:
        generator: the photo → Monet ``keras.Model`` (load one from a run folder with
            :func:`stx_tf.cyclegan.train.load_generator`).
        photos: the photos: anything :func:`stx_tf.data.load_images` reads (the competition's
            ``photo_tfrec`` folder, a folder of JPEGs, a glob, a zip ...).
        out_path: the zip to write (``images.zip``).
        batch_size: photos per generator call (default :func:`default_export_batch`: 8 on CPU, where it
            keeps a full U-Net export under 2 GiB at the same speed as larger batches; 32 on GPU/TPU).
        quality: JPEG quality (1-100).
        size: output side (the competition needs 256).
        fill_to: when there are fewer usable photos than ``min_count``, add augmented re-runs (flipped,
            cropped) of the photos until there are ``fill_to`` images. Without it, too few photos is an
            error.
        min_count, max_count: allowed number of images (7,000-10,000). Photos beyond ``max_count`` are
            left out with a warning.
        skip_bad: skip unreadable photo records (reported with a count) instead of failing.
        check: run :func:`check_submission` on the result before publishing it.
        progress: show a progress bar.
        precision: ``"auto"`` (:func:`stx_tf.precision.resolve`), ``"float32"``, ``"bfloat16"``, ...
        infer_size: run the generator at this side and resize its output (bicubic) to ``size``: e.g.
            the side a small model was trained at. Faster (4× at 128 px) and softer. Default ``size``.

    Returns:
        An :class:`ExportReport`.

    Raises:
        ValueError: too few photos (and no ``fill_to``), an unwritable folder, a bad ``fill_to`` /
            ``quality``, or a result that fails the check.
    """
    from tqdm.auto import tqdm

    from stx_tf.data import count_images

    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be in 1..100, got {quality}")
    if fill_to is not None and not min_count <= fill_to <= max_count:
        raise ValueError(f"fill_to must be between {min_count} and {max_count}, got {fill_to}")
    out_path = Path(out_path)
    _check_target(out_path)
    n_photos = count_images(photos, skip_bad=skip_bad)
    if n_photos < min_count and fill_to is None:
        raise ValueError(
            f"{photos}: only {n_photos} photos, the submission needs at least {min_count} images. Pass "
            f"fill_to={min_count} (--fill-to {min_count}) to add flipped/cropped re-runs of the photos."
        )
    target = min(max(n_photos, fill_to or 0), max_count)
    if n_photos > max_count:
        log.warning(
            "%d photos: only the first %d are exported (the competition allows %d)",
            n_photos,
            max_count,
            max_count,
        )
    generator = inference_model(generator, precision)
    infer_size = infer_size or size
    side = tuple(generator.input_shape[1:3])
    if any(s not in (None, infer_size) for s in side):
        raise ValueError(
            f"the generator takes {side[0]}x{side[1]} images, not {infer_size}x{infer_size}: pass "
            f"infer_size={side[0]} to run it at its size and resize the results to {size}x{size}"
        )

    batch_size = int(batch_size or default_export_batch())
    passes = 1 if fill_to is None else -(-target // max(1, min(n_photos, max_count)))
    cache = passes > 1 and n_photos * infer_size**2 * 12 <= CACHE_BYTES
    start = time.monotonic()
    seen: set[str] = set()
    written, first_pass, skipped = 0, None, 0

    def end_of_first_pass(count: int) -> int:
        nonlocal skipped
        skipped = max(0, min(n_photos, target) - count)
        if skipped:
            log.warning("skipped %d unusable photo(s) of %d", skipped, n_photos)
        if count == 0:
            raise ValueError(f"{photos}: no usable photos")
        if fill_to is None and count < min_count:
            raise ValueError(
                f"{photos}: only {count} usable photos (after skipping {skipped} unusable), "
                f"the submission needs {min_count}. Pass fill_to={min_count} to add augmented re-runs."
            )
        return count

    bar = tqdm(total=target, unit="img", desc="export", disable=not progress)
    with atomic.atomic_path(out_path) as tmp, bar, ThreadPoolExecutor(ENCODE_THREADS) as pool:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            next_pass = 0
            while written < target:
                before = written
                for images, names, _, pass_no in _stream(
                    photos, infer_size, batch_size, skip_bad, next_pass, passes, cache
                ):
                    if first_pass is None and int(pass_no) > 0:
                        first_pass = end_of_first_pass(written)
                    room = target - written
                    fakes = paint_batch(generator.predict_on_batch, np.asarray(images[:room]), batch_size)
                    for name, data in zip(names.numpy()[:room], to_jpegs(fakes, quality, size, pool)):
                        entry = zipfile.ZipInfo(
                            unique_name(safe_stem(name.decode(errors="replace")), seen), _ZIP_TIME
                        )
                        zf.writestr(entry, data, compress_type=zipfile.ZIP_STORED)
                    written += min(room, len(fakes))
                    bar.update(min(room, len(fakes)))
                    if written >= target:
                        break
                if first_pass is None:
                    first_pass = end_of_first_pass(written)
                if written == before:
                    raise ValueError(f"{photos}: no usable photos")
                if fill_to is None:
                    break
                next_pass, passes = passes, passes + -(-(target - written) // first_pass)
        report = None
        if check:
            report = check_submission(tmp, min_count=min_count, max_count=max_count, size=size)
            if not report.ok:
                raise ValueError(f"the exported zip fails the check:\n{report.summary()}")
    if report is not None:
        report.path = out_path
    result = ExportReport(
        path=out_path,
        written=written,
        photos=first_pass,
        skipped=skipped,
        filled=written - first_pass,
        seconds=time.monotonic() - start,
        check=report,
    )
    log.info("%s", result.summary())
    return result
