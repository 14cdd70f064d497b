"""The CycleGAN training driver behind ``stx cyclegan train``, the quick start and the notebook.

``train(config, data)`` finds or takes the data, pairs the domains so that each epoch covers every photo
(:func:`stx_tf.data.pair_domains`), builds and compiles the model in the distribution's scope and the
precision's policy, and trains it with the run skeleton (:func:`stx_tf.training.fit_run`): exact resume,
a checkpoint and ``loss_curves.png`` after every epoch, a grid of the same photos and paintings translated
after every epoch (``samples/epoch_NNN.png``), the NaN guard and the time budget. At the end the
photo → Monet generator is saved as ``monet_generator.keras`` (float32) for export.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from stx_tf import atomic, precision
from stx_tf.cyclegan.config import CycleGANConfig
from stx_tf.cyclegan.model import build_cyclegan
from stx_tf.settings import get_logger
from stx_tf.training import (
    Curves,
    RunFolder,
    RunResult,
    RunShortcuts,
    execution_steps,
    fit_run,
    load_arrays,
    read_run,
)
from stx_tf.training.schedule import LinearDecay
from stx_tf.viz import rows_grid

log = get_logger(__name__)

KIND = "cyclegan"
GENERATOR_FILE = "monet_generator.keras"


@dataclass
class TrainResult(RunShortcuts):
    """What a training run produced: the trained :class:`~stx_tf.cyclegan.model.CycleGAN` (``model``),
    the run skeleton's :class:`~stx_tf.training.RunResult` (``run``, read through the shortcuts of
    :class:`~stx_tf.training.RunShortcuts`), the steps per epoch, and the saved generator (``None`` when
    training diverged before any good checkpoint)."""

    model: object
    run: RunResult
    steps_per_epoch: int
    generator_path: Path | None = None


def sources(data):
    """``(photo_source, monet_source)`` from a CompetitionData, a pair, or None (find it)."""
    if data is None:
        from stx_tf.data import find_competition_data

        data = find_competition_data()
        log.info("data: %s", data)
    if hasattr(data, "photo") and hasattr(data, "monet"):
        return data.photo, data.monet
    if isinstance(data, tuple | list) and len(data) == 2:
        return data
    raise ValueError("data must be a CompetitionData, a (photo_source, monet_source) pair, or None")


def make_datasets(config: CycleGANConfig, data, global_batch: int):
    """Paired training batches and the fixed sample images.

    Returns:
        ``(dataset of (photo, monet) batches, steps_per_epoch, sample_photos, sample_monets)``.
    """
    from stx_tf.data import all_jpeg, augmenter, count_images, load_images, pair_domains

    photo_src, monet_src = sources(data)
    size = config.image_size
    n_photo, n_monet = count_images(photo_src), count_images(monet_src)
    # Without a cache the augmenter decodes each JPEG only inside its random crop window.
    encoded = (config.jitter or config.flip) and not config.cache
    augment = None
    if config.jitter or config.flip:
        jpeg_only = encoded and all_jpeg(photo_src) and all_jpeg(monet_src)
        augment = augmenter(size, jitter=config.jitter, flip=config.flip, jpeg_only=jpeg_only)

    def images(source, **options):
        return load_images(source, size=size, skip_bad=config.skip_bad, **options)

    pairs, steps = pair_domains(
        images(photo_src, encoded=encoded),
        images(monet_src, encoded=encoded),
        global_batch,
        n_photo,
        n_monet,
        augment_fn=augment,
        cache=config.cache,
        seed=config.seed,
        skip_errors=config.skip_bad,
    )
    if config.steps_per_epoch:
        steps = min(steps, config.steps_per_epoch)
        pairs = pairs.take(steps)
    log.info("%d photos, %d paintings: %d steps of %d per epoch", n_photo, n_monet, steps, global_batch)

    def first(ds, n):
        return np.stack(list(ds.take(n).as_numpy_iterator()))

    return pairs, steps, first(images(photo_src), config.samples), first(images(monet_src), config.samples)


class _OneDevice:
    """No distribution under JAX: one device, an empty scope."""

    num_replicas_in_sync = 1

    @staticmethod
    def scope():
        return contextlib.nullcontext()


def prepare_strategy(config: CycleGANConfig, strategy=None):
    """``(strategy, global_batch)``: the given TF strategy or Keras distribution, else the TF default
    (:func:`stx_tf.strategy.get_strategy`) or, under JAX, the current ``keras.distribution`` (e.g. the
    ``DataParallel`` of :func:`stx_tf.strategy.get_distribution`); the seed is set."""
    from stx_tf.strategy import get_strategy, global_batch_size

    keras.utils.set_random_seed(config.seed)
    if strategy is None:
        if keras.backend.backend() == "jax":
            strategy = keras.distribution.distribution() or _OneDevice()
        else:
            strategy = get_strategy()
    return strategy, global_batch_size(config.batch_size, strategy)


def compiled_model(config: CycleGANConfig, strategy, steps: int, build=build_cyclegan):
    """The painter of ``config`` built under its precision policy and compiled inside the strategy's
    scope, its learning-rate schedule laid out for ``steps`` per epoch.

    ``build(config)`` makes the uncompiled model: :func:`~stx_tf.cyclegan.model.build_cyclegan` by default,
    :func:`stx_tf.cut.model.build_cut` for CUT (same compile options, same schedule and precision fields).
    """
    from stx_tf.strategy import is_tpu, replicas

    policy = precision.resolve(config.precision, strategy)
    # Keras' multi-step loop fails under MirroredStrategy; a JAX distribution runs one SPMD program.
    tf_replicas = replicas(strategy) if keras.backend.backend() == "tensorflow" else 1
    spe = execution_steps(config.steps_per_execution, steps, tf_replicas, tpu=is_tpu(strategy))
    with strategy.scope(), precision.policy_scope(policy):
        model = build(config)
        schedule = LinearDecay.for_epochs(config.learning_rate, config.epochs, config.decay_epochs, steps)
        model.compile(
            adversarial_loss=config.adversarial_loss,
            label_smoothing=config.label_smoothing,
            diff_augment=config.diff_augment,
            learning_rate=schedule,
            beta_1=config.beta_1,
            steps_per_execution=spe,
        )
    log.info("%s: %s precision, %d step(s) per execution", type(model).__name__, policy, spe)
    return model


#: The curves figures of a run: the losses, and the scores when it is scored during training.
#: The scores of ``score_every`` (MiFID / FID per scored epoch), drawn beside the losses.
SCORE_CURVES = Curves("score_curves.png", "MiFID / FID during training (lower is better)", ("mifid", "fid"),
                      logy=False)


def scoring_callbacks(config, data, paint) -> list:
    """``[ScoreCallback]`` when ``config.score_every`` asks for scoring during training, else ``[]``.

    ``paint(model, images)`` is the painter's photo → painting pass (any painter whose config has the
    ``score_*`` fields: CycleGAN, CUT)."""
    if not config.score_every:
        return []
    from stx_tf.training.scoring import score_callback

    photos, monets = sources(data)
    return [score_callback(paint, photos, monets, every=config.score_every, epochs=config.epochs,
                           n=config.score_photos, seed=config.seed, extractor=config.score_extractor)]


def draw_samples(model, photos, monets, path=None, show: bool = False):
    """Labelled rows: photos, their Monet translations, paintings, and their photo translations when the
    model has a Monet → photo generator (CycleGAN; CUT has only the photo → Monet one)."""

    def translate(net, images):
        return np.asarray(net.predict(np.asarray(images, np.float32), batch_size=8, verbose=0))

    rows = {"photo": photos, "photo → Monet": translate(model.monet_generator, photos), "Monet": monets}
    if getattr(model, "photo_generator", None) is not None:
        rows["Monet → photo"] = translate(model.photo_generator, monets)
    return rows_grid(rows, path=path, signed=True, show=show)


def save_generator(generator: keras.Model, path) -> Path:
    """Save a generator as a float32 ``.keras`` file atomically (runs anywhere, loads in any precision)."""
    with atomic.atomic_path(path) as tmp:
        precision.cast_copy(generator, "float32").save(tmp)
    return Path(path)


def train(config: CycleGANConfig | None = None, data=None, strategy=None, callbacks=(), verbose="auto"):
    """Train (or continue training) a photo → Monet CycleGAN into ``config.out_dir``.

    Args:
        config: settings (default: the paper's, :class:`~stx_tf.cyclegan.config.CycleGANConfig`); its
            ``resume`` decides whether a run in ``out_dir`` continues (see :class:`stx_tf.training.RunFolder`).
        data: a :class:`stx_tf.data.CompetitionData`, a ``(photo_source, monet_source)`` pair of anything
            :func:`stx_tf.data.load_images` reads, or None to find the competition data.
        strategy: a ``tf.distribute`` strategy (default :func:`stx_tf.strategy.get_strategy`); ignored
            under JAX, where the current ``keras.distribution`` applies.
        callbacks: extra Keras callbacks.
        verbose: ``fit`` verbosity (a progress bar with an ETA by default).

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: bad config or data, an unwritable folder, nothing to resume, an incompatible
            checkpoint (other generator type or widths).
    """
    return fit_painter((config or CycleGANConfig()).validate(), data, strategy, callbacks, verbose,
                       kind=KIND, build=build_cyclegan, title="CycleGAN")


def fit_painter(config, data, strategy, callbacks, verbose, *, kind: str, build, title: str,
                best_key: str | None = None) -> TrainResult:
    """The one training flow of the unpaired painters (CycleGAN here, CUT in :mod:`stx_tf.cut.train`):
    the run folder (``kind`` names the painter in ``run.json``), data paired so that each epoch covers
    every photo, the model of ``build(config)`` compiled in the strategy's scope and precision's policy,
    scoring during training with the ``best`` checkpoint (``best_key``, default ``"mifid"`` when
    ``config.score_every`` scores), the skeleton's :func:`~stx_tf.training.fit_run`, and at the end the
    photo → Monet generator saved as float32 ``monet_generator.keras``."""
    start = time.monotonic()
    run = RunFolder(config.out_dir, kind, config.to_dict(), config.checkpoint_fields(), resume=config.resume)
    strategy, global_batch = prepare_strategy(config, strategy)
    pairs, steps, sample_photos, sample_monets = make_datasets(config, data, global_batch)
    model = compiled_model(config, strategy, steps, build=build)
    scoring = scoring_callbacks(config, data, paint=lambda m, images: m.monet_generator.predict_on_batch(images))
    losses = Curves("loss_curves.png", f"{title} losses (epoch means)", tuple(model.trackers))
    result = fit_run(
        model,
        pairs,
        run=run,
        items=model.checkpoint_items(),
        epochs=config.epochs,
        render=lambda m, path, epoch: draw_samples(m, sample_photos, sample_monets, path=path),
        curves=(losses, SCORE_CURVES),
        best_key=best_key or ("mifid" if scoring else None),
        restart_from_best=config.restart_from_best,
        time_budget=config.time_budget_seconds,
        start=start,
        keep=config.keep_checkpoints,
        callbacks=[*scoring, *callbacks],
        verbose=verbose,
    )
    generator_path = None
    if not result.broken:
        generator_path = save_generator(model.monet_generator, run.path / GENERATOR_FILE)
    return TrainResult(model=model, run=result, steps_per_epoch=steps, generator_path=generator_path)

def generator_source(path, which: str = "best") -> tuple[Path, str]:
    """Where :func:`load_generator` takes a run folder's generator from, and a line saying so.

    ``which="best"``: ``checkpoints/best`` when the run was scored during training, else as ``"last"``;
    ``"last"``: the newest checkpoint, or ``monet_generator.keras`` when it is at least as new.

    Raises:
        ValueError: ``which`` is neither, or nothing loadable there.
    """
    from stx_tf.training import list_checkpoints
    from stx_tf.training.checkpoint import BEST, CHECKPOINTS

    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    path = Path(path)
    best = path / CHECKPOINTS / BEST
    state = read_run(path) if (path / "run.json").is_file() else {}
    if which == "best" and best.is_dir() and state.get("best"):
        b = state["best"]
        return best, f"the best epoch {b['epoch']} of {path} ({b['metric']} {b['score']:.4f})"
    found = list_checkpoints(path)
    saved = path / GENERATOR_FILE
    if saved.is_file() and (not found or saved.stat().st_mtime >= found[-1].stat().st_mtime):
        return saved, f"the last epoch of {path} ({GENERATOR_FILE}, epoch {state.get('epoch', '?')})"
    if not found:
        raise ValueError(f"{path}: no {GENERATOR_FILE} and no checkpoint in checkpoints/")
    return found[-1], f"the last epoch of {path} ({found[-1].name})"


def load_generator(path, which: str = "best") -> keras.Model:
    """Load the photo → Monet generator for export.

    Args:
        path: a ``.keras`` file, or a run folder (see :func:`generator_source` for ``which``).
        which: ``"best"`` (the best scored epoch when there is one, else the last) or ``"last"``.

    Raises:
        ValueError: nothing loadable there.
    """
    path = Path(path)
    if path.is_dir():
        source, said = generator_source(path, which)
        if source.suffix == ".keras":
            return load_generator(source)
        from stx_tf.cyclegan.nets import build_generator_from
        from stx_tf.training import assign

        config = CycleGANConfig.from_dict(read_run(path)["config"])
        generator = build_generator_from(config, "monet_generator")
        assign(generator.variables, load_arrays(source, "monet_generator"), f"{source}: monet_generator")
        log.info("loaded the photo->Monet generator of %s", said)
        return generator
    if not path.is_file():
        raise ValueError(f"{path}: no such generator file or run folder")
    if path.suffix != ".keras":
        raise ValueError(f"{path}: expected a .keras generator file or a CycleGAN run folder")
    import stx_tf.nn  # noqa: F401 - registers ReflectionPadding2D for deserialisation

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:  # keras raises many types for a bad archive
        raise ValueError(f"{path}: not a loadable Keras model ({err})") from None
