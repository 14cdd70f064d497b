"""Input pipelines: shuffle, repeat, parallel map, prefetch, optional cache, global-batch batching, and
pairing two domains (photos and paintings) for unpaired training."""

from __future__ import annotations

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def pipeline_options(autotune: bool = False) -> tf.data.Options:
    """``tf.data`` options for the pipelines: tf.data's autotuner off unless asked for.

    Without the autotuner every ``AUTOTUNE`` parallelism is the number of cores (the autotuner's own
    ceiling) and prefetch buffers still grow on demand. Why off:

    * deleting an autotuned iterator waits for the autotuner's thread, whose sleep between optimisations
      grows to about a minute: Keras ``fit`` returns long after its last step and an export sits idle after
      its last batch (with every tf.data autotune algorithm). Off, the iterator closes at once.
    * on 2 cores (Colab's free tier, this project's CI) the autotuner ran some epochs on a single core.

    Measured in ``benchmarks/README.md`` ("Ordinary CPUs") and ``benchmarks/bench_data.py``.

    Args:
        autotune: turn tf.data's autotuner on.
    """
    options = tf.data.Options()
    options.autotune.enabled = bool(autotune)
    return options


def one_pass(ds: tf.data.Dataset) -> tf.data.Dataset:
    """``ds`` for a single pass read to its end or left early (export, features, scoring): the autotuner
    off whatever the dataset's options said (see :func:`pipeline_options`), so the iterator closes at once."""
    return ds.with_options(pipeline_options(autotune=False))


def make_pipeline(
    ds: tf.data.Dataset,
    batch_size: int,
    shuffle: bool = True,
    repeat: bool = False,
    augment_fn=None,
    cache: bool | str = False,
    drop_remainder: bool = True,
    shuffle_buffer: int = 2048,
    seed: int | None = None,
    autotune: bool = False,
) -> tf.data.Dataset:
    """Cache → shuffle → repeat → augment (parallel) → batch → prefetch.

    Args:
        ds: decoded images (or tuples).
        batch_size: the GLOBAL batch size (per-replica × replicas, see :func:`stx_tf.strategy.global_batch_size`).
        shuffle: reshuffle every pass.
        repeat: repeat forever.
        augment_fn: per-element map applied after caching (so augmentation differs every epoch).
        cache: ``True`` caches decoded images in memory, a string caches to that file.
        drop_remainder: static batch shapes (needed on TPU).
        shuffle_buffer: shuffle buffer size.
        seed: shuffle seed.
        autotune: tf.data's autotuner (default off: :func:`pipeline_options`).
    """
    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if augment_fn is not None:
        ds = ds.map(augment_fn, num_parallel_calls=AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(AUTOTUNE)
    return ds.with_options(pipeline_options(autotune))


def _known_count(ds: tf.data.Dataset, given: int | None, label: str) -> int:
    if given is not None:
        return int(given)
    card = int(ds.cardinality())
    if card < 0:
        raise ValueError(
            f"pair_domains: the size of {label} is unknown; pass n_{label} (e.g. from count_images)"
        )
    return card


def pair_domains(
    ds_a: tf.data.Dataset,
    ds_b: tf.data.Dataset,
    batch_size: int,
    n_a: int | None = None,
    n_b: int | None = None,
    augment_fn=None,
    cache: bool = False,
    shuffle: bool = True,
    seed: int | None = None,
    skip_errors: bool = False,
    autotune: bool = False,
) -> tuple[tf.data.Dataset, int]:
    """Zip two unpaired domains so that one epoch covers every image of the LARGER one.

    The tutorial's ``zip(monet, photo)`` stops after 300 photos; here the smaller domain repeats,
    reshuffled each pass, until the larger one (e.g. all 7,038 photos) has been seen once.

    Args:
        ds_a, ds_b: images of each domain (e.g. photos, paintings): decoded, or encoded bytes for an
            ``augment_fn`` that decodes them (:func:`stx_tf.data.augment`).
        batch_size: the GLOBAL batch size.
        n_a, n_b: domain sizes (default: the datasets' known cardinality).
        augment_fn: per-image augmentation applied to both domains, e.g. ``stx_tf.data.augmenter(256)``.
        cache: cache decoded images in memory.
        shuffle: shuffle both domains.
        seed: shuffle seed.
        skip_errors: drop images the augmentation cannot decode (encoded inputs with a corrupt body),
            with a logged warning, instead of failing.
        autotune: tf.data's autotuner (default off: :func:`pipeline_options`).

    Returns:
        ``(dataset of (a_batch, b_batch), steps_per_epoch)``; the dataset is finite (one epoch).
    """
    n_a, n_b = _known_count(ds_a, n_a, "a"), _known_count(ds_b, n_b, "b")
    if min(n_a, n_b) == 0:
        raise ValueError("pair_domains: a domain is empty")
    steps = max(n_a, n_b) // batch_size
    if steps == 0:
        raise ValueError(f"pair_domains: batch size {batch_size} is larger than both domains ({n_a}, {n_b})")

    def prep(ds, n, forever):
        if cache:
            ds = ds.cache()
        if shuffle:
            ds = ds.shuffle(min(n, 2048), seed=seed, reshuffle_each_iteration=True)
        if forever:
            ds = ds.repeat()
        if augment_fn is not None:
            ds = ds.map(augment_fn, num_parallel_calls=AUTOTUNE)
            if skip_errors:
                ds = ds.ignore_errors(log_warning=True)
        return ds.batch(batch_size, drop_remainder=True)

    a_larger = n_a >= n_b
    paired = tf.data.Dataset.zip((prep(ds_a, n_a, not a_larger), prep(ds_b, n_b, a_larger)))
    paired = paired.take(steps).apply(tf.data.experimental.assert_cardinality(steps))
    return paired.prefetch(AUTOTUNE).with_options(pipeline_options(autotune)), steps
