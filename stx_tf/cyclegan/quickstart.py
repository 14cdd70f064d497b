"""The README's first command: photo → Monet end to end in a few minutes on a laptop CPU.

``quickstart(out_dir)`` trains a small CycleGAN briefly on the embedded sample (or the competition data
when it is found), exports a checked ``images.zip`` (filled to 7,000 images with augmented re-runs,
since the sample has only 120 photos) and writes a preview grid. The same :func:`~stx_tf.cyclegan.train.train`
and :func:`~stx_tf.submission.export_submission` as a full run, with small sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stx_tf.cyclegan.config import CycleGANConfig
from stx_tf.settings import get_logger, smoke

log = get_logger(__name__)


def quickstart_config() -> CycleGANConfig:
    """A small, fast configuration: a narrow ResNet trained at 128 px for a few epochs, without the
    identity loss (it keeps the photo's colours: a third of the generator passes for a paler result)."""
    return CycleGANConfig(
        filters=smoke(12, 4),
        res_blocks=smoke(3, 1),
        disc_filters=smoke(16, 4),
        image_size=smoke(96, 32),
        batch_size=4,
        epochs=smoke(10, 1),
        decay_epochs=smoke(5, 0),
        steps_per_epoch=smoke(None, 2),
        lambda_identity=0.0,
        learning_rate=5e-4,
        diff_augment=None,
        samples=4,
        steps_per_execution=smoke(5, 1),
    )


@dataclass
class QuickstartResult:
    """Paths and numbers of a quick start (``model`` is the trained CycleGAN, ``export`` the
    :class:`~stx_tf.submission.ExportReport`)."""

    zip_path: Path
    preview: Path
    run_dir: Path
    summary: str
    model: object = None
    export: object = None


def training_bar():
    """A Keras callback drawing ONE progress line over all the training steps of a ``fit``, with its ETA
    (Keras' own bar restarts every epoch and only knows when that epoch ends)."""
    import keras
    from tqdm.auto import tqdm

    class TrainingBar(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar, self.steps, self.done = None, int(self.params.get("steps") or 0), 0

        def on_epoch_begin(self, epoch, logs=None):
            if self.bar is None:  # the first epoch of this fit (a resumed run starts later)
                self.first = epoch
                total = (int(self.params.get("epochs", 1)) - epoch) * self.steps
                self.bar = tqdm(total=total or None, unit="step", desc="train")
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            # With steps_per_execution = k, Keras reports every k-th step (``batch`` is the last one run).
            step = (self.epoch - self.first) * self.steps + batch + 1
            self.bar.update(max(0, step - self.done))
            self.done = max(self.done, step)

        def on_epoch_end(self, epoch, logs=None):
            if logs and "cycle_loss" in logs:
                self.bar.set_postfix(epoch=epoch + 1, cycle_loss=f"{logs['cycle_loss']:.2f}")

        def on_train_end(self, logs=None):
            if self.bar is not None:
                self.bar.close()

    return TrainingBar()


def quickstart(
    out_dir="outputs/quickstart", data=None, count: int | None = None, verbose="auto", precision: str = "auto"
) -> QuickstartResult:
    """Train briefly, export ``images.zip`` and a preview grid into ``out_dir``.

    Args:
        out_dir: output folder (``run/`` for the training run, ``images.zip``, ``preview.png``).
        data: competition data (default: found, else the embedded sample).
        count: images in the zip (default 7,000; smoke mode 40 with relaxed limits).
        verbose: training verbosity.
        precision: training and export precision (:func:`stx_tf.precision.resolve`; ``"float32"`` shows
            what a CPU without native bfloat16 does).
    """
    from stx_tf.cyclegan.train import draw_samples, train
    from stx_tf.data import find_competition_data
    from stx_tf.submission import MIN_IMAGES, export_submission

    out_dir = Path(out_dir)
    data = data or find_competition_data(allow_sample=True)  # the sample is what the quick start is for
    log.info("quick start on %s", data)
    config = quickstart_config().updated(out_dir=str(out_dir / "run"), precision=precision)
    callbacks = []
    if verbose == "auto":  # one line with the ETA of the whole training instead of a bar per epoch
        callbacks, verbose = [training_bar()], 0
    result = train(config, data=data, verbose=verbose, callbacks=callbacks)
    count = count or smoke(MIN_IMAGES, 40)
    limits = {} if count >= MIN_IMAGES else {"min_count": count, "max_count": count}
    report = export_submission(
        result.model.monet_generator,
        data.photo,
        out_dir / "images.zip",
        fill_to=count,
        batch_size=32,
        infer_size=result.model.image_size,  # the small generator at its training size, upscaled: fast
        precision=precision,
        **limits,
    )
    preview = out_dir / "preview.png"
    draw_samples(result.model, *_preview_images(data, result.model.image_size), path=preview)
    summary = (
        f"trained {result.epochs_done} epochs ({result.steps_per_epoch} steps each) in {result.seconds:.0f} s; "
        f"{report.summary()}; check: {report.check.summary() if report.check else 'skipped'}; preview: {preview}"
    )
    return QuickstartResult(
        zip_path=report.path,
        preview=preview,
        run_dir=out_dir / "run",
        summary=summary,
        model=result.model,
        export=report,
    )


def _preview_images(data, size: int, n: int = 4):
    """Photos and paintings for the preview at the side the generators were trained and export at (the
    preview shows what the zip holds, before its upscaling to 256 px)."""
    import numpy as np

    from stx_tf.data import load_images

    def first(source):
        return np.stack(list(load_images(source, size=size).take(n).as_numpy_iterator()))

    return first(data.photo), first(data.monet)
