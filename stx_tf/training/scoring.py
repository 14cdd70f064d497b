"""Scoring during training: the competition's metric of the painter every few epochs, and its best epoch.

Users are judged by one number, MiFID on Kaggle's leaderboard. :class:`ScoreCallback` paints a fixed,
seeded subset of photos (default 512) with the painter after every ``every`` epochs, exactly as the export
would (the generator at its inference size, resized to 256, encoded as JPEG q95) and decodes the JPEGs as
PIL does, then scores them against the real paintings with the best extractor available
(:func:`stx_tf.metrics.get_extractor` ``"auto"``: the competition's FID Inception when its weights are
found, else a labelled proxy), in float32 whatever the training precision. The real set's statistics are
computed once (and cached on disk, :func:`stx_tf.metrics.real_features`).

It adds ``mifid``, ``fid`` and ``mem_distance`` to the epoch's logs, so they land in the history,
``run.json`` and the curves, and :func:`stx_tf.training.fit_run` with ``best_key="mifid"`` keeps the best
epoch as ``checkpoints/best`` (and can restart from it). A subset of 512 photos does not give Kaggle's
number (that uses 7,000+ images); it ranks epochs of one run, which is what picking a checkpoint needs.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import keras
import numpy as np

from stx_tf.settings import get_logger

log = get_logger(__name__)

#: Photos painted and scored per scoring (fixed and seeded, the same every time in a run).
SCORE_PHOTOS = 512

#: Keys added to the epoch logs.
SCORE_KEYS = ("mifid", "fid", "mem_distance")


def score_photos(source, n: int = SCORE_PHOTOS, seed: int = 0, size: int = 256) -> np.ndarray:
    """``n`` photos of ``source`` chosen with ``seed`` (all of them when fewer), as uint8 ``(n, size, size, 3)``,
    decoded as PIL decodes them. Only the chosen images are decoded."""
    import tensorflow as tf

    from stx_tf.data import count_images, load_images
    from stx_tf.data.decode import decode_uint8
    from stx_tf.data.pipeline import one_pass

    total = count_images(source)
    if total < 2:
        raise ValueError(f"{source}: {total} photo(s); scoring needs at least 2")
    chosen = np.sort(np.random.default_rng(seed).permutation(total)[: min(n, total)])
    wanted = tf.constant(chosen, tf.int64)
    ds = load_images(source, size=size, encoded=True).enumerate()
    ds = ds.filter(lambda i, data: tf.reduce_any(tf.equal(wanted, i)))
    ds = ds.map(lambda i, data: decode_uint8(data, size, exact=True), num_parallel_calls=tf.data.AUTOTUNE)
    return np.concatenate(list(one_pass(ds.batch(64)).as_numpy_iterator()))


def as_kaggle_reads(painted: np.ndarray, quality: int = 95, size: int = 256) -> np.ndarray:
    """Generator outputs ``(B, h, w, 3)`` in ``[-1, 1]`` -> float32 ``[-1, 1]`` images as Kaggle reads them
    from a submission: resized to ``size`` like the export, JPEG-encoded, decoded with PIL."""
    from PIL import Image

    from stx_tf.submission.export import to_jpegs

    decoded = [np.asarray(Image.open(io.BytesIO(data)).convert("RGB")) for data in to_jpegs(painted, quality, size)]
    return np.stack(decoded).astype(np.float32) / 127.5 - 1.0


class ScoreCallback(keras.callbacks.Callback):
    """Every ``every`` epochs (and after the last), put MiFID / FID / memorisation distance into the logs.

    Args:
        paint: ``paint(model, images) -> images``: the painter's photo → painting pass on a float32
            ``[-1, 1]`` batch (e.g. ``model.monet_generator.predict_on_batch``).
        photos: the fixed photos, uint8 ``(N, H, W, 3)`` (see :func:`score_photos`).
        real: the real paintings' :class:`~stx_tf.metrics.FeatureSet` (statistics computed once).
        extractor: the :class:`~stx_tf.metrics.FeatureExtractor` that made ``real``.
        every: epochs between scorings.
        epochs: the run's last epoch (always scored).
        infer_size: side the generator paints at (its training size, like the quick start's export;
            ``None``: 256).
        batch_size: photos per generator / extractor call.
    """

    def __init__(self, paint: Callable, photos, real, extractor, every: int = 1, epochs: int | None = None,
                 infer_size: int | None = None, batch_size: int = 16):
        super().__init__()
        if every < 1:
            raise ValueError(f"score every must be >= 1 epoch, got {every}")
        self.paint = paint
        self.photos = np.asarray(photos, np.uint8)
        self.real = real
        self.extractor = extractor
        self.every = int(every)
        self.epochs = epochs
        self.infer_size = infer_size
        self.batch_size = int(batch_size)
        self.seconds: list[float] = []

    def features(self) -> np.ndarray:
        """Paint the photos and extract the features of what Kaggle would read."""
        import tensorflow as tf

        chunks = []
        for start in range(0, len(self.photos), self.batch_size):
            batch = self.photos[start : start + self.batch_size].astype(np.float32) / 127.5 - 1.0
            if self.infer_size and batch.shape[1] != self.infer_size:
                batch = tf.image.resize(batch, (self.infer_size, self.infer_size), antialias=True).numpy()
            painted = np.asarray(self.paint(self.model, batch), np.float32)
            chunks.append(self.extractor(as_kaggle_reads(painted)))
        return np.concatenate(chunks)

    def score(self) -> dict:
        """``{"mifid", "fid", "mem_distance"}`` of the painter now."""
        from stx_tf.metrics import feature_stats, frechet_distance, memorisation_distance, mifid

        features = self.features()
        fid = frechet_distance(*feature_stats(features), *self.real.stats)
        distance = memorisation_distance(features, self.real.features)
        return {"mifid": mifid(fid, distance), "fid": fid, "mem_distance": distance}

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or ((epoch + 1) % self.every and epoch + 1 != self.epochs):
            return
        if not all(np.isfinite(float(v)) for v in logs.values()):
            return  # the NaN guard stops the run; nothing to score
        start = time.monotonic()
        scores = self.score()
        self.seconds.append(time.monotonic() - start)
        logs.update(scores)
        log.info("epoch %d: MiFID %.2f, FID %.2f, memorisation %.4f (%d photos, %.0f s; %s)", epoch + 1,
                 scores["mifid"], scores["fid"], scores["mem_distance"], len(self.photos), self.seconds[-1],
                 self.extractor.label)


def score_callback(paint: Callable, photos, real, every: int, epochs: int | None = None,
                   n: int = SCORE_PHOTOS, seed: int = 0, extractor="auto") -> ScoreCallback:
    """A :class:`ScoreCallback` for a run: ``n`` seeded photos of ``photos`` painted by ``paint``, scored
    against the real paintings ``real`` (statistics computed once, cached on disk) with ``extractor``
    (``"auto"``: the competition's network when its weights are found, else the labelled proxy)."""
    from stx_tf.metrics import get_extractor, real_features

    ext = get_extractor(extractor)
    if not ext.competition_metric:
        log.warning("scoring during training with %s", ext.label)
    real_set = real_features(real, ext, progress=False)
    return ScoreCallback(paint, score_photos(photos, n, seed), real_set, ext, every=every, epochs=epochs)
