"""The CUT / FastCUT training driver behind ``stx cut train`` and notebook 05.

The same flow as CycleGAN's (:mod:`stx_tf.cyclegan.train`), built from its parts: the data paired so that
each epoch covers every photo, the model built and compiled in the distribution's scope and the
precision's policy, the run skeleton (:func:`stx_tf.training.fit_run`: exact resume, a checkpoint and
``loss_curves.png`` after every epoch, ``samples/epoch_NNN.png``, the NaN guard, the time budget), MiFID
scoring during training with the ``best`` checkpoint and the optional restart from it (``score_every``,
``restart_from_best``, as CycleGAN's), and at the end the photo → Monet generator saved as
``monet_generator.keras`` (float32). ``stx cut export`` / :func:`stx_tf.cyclegan.train.load_generator` read
a CUT run folder like a CycleGAN's (the best scored epoch by default).
"""

from __future__ import annotations

from stx_tf.cut.config import CUTConfig
from stx_tf.cut.model import build_cut
from stx_tf.cyclegan.train import TrainResult, fit_painter

KIND = "cut"


def train(
    config: CUTConfig | None = None,
    data=None,
    strategy=None,
    callbacks=(),
    best_key: str | None = None,
    verbose="auto",
) -> TrainResult:
    """Train (or continue training) a photo → Monet CUT or FastCUT into ``config.out_dir``.

    Args:
        config: settings (default: the paper's CUT, :class:`~stx_tf.cut.config.CUTConfig`); its ``resume``
            decides whether a run in ``out_dir`` continues (see :class:`stx_tf.training.RunFolder`).
        data: a :class:`stx_tf.data.CompetitionData`, a ``(photo_source, monet_source)`` pair of anything
            :func:`stx_tf.data.load_images` reads, or None to find the competition data.
        strategy: a ``tf.distribute`` strategy (default :func:`stx_tf.strategy.get_strategy`); under JAX the
            current ``keras.distribution`` applies.
        callbacks: extra Keras callbacks (after the scorer of ``config.score_every``, if any).
        best_key: a metric of the epoch logs (lower is better) whose best epoch is kept as
            ``checkpoints/best`` (default: ``"mifid"`` when ``config.score_every`` scores during training).
        verbose: ``fit`` verbosity (a progress bar with an ETA by default).

    Returns:
        A :class:`~stx_tf.cyclegan.train.TrainResult` (``model`` is the :class:`~stx_tf.cut.model.CUT`).

    Raises:
        ValueError: bad config or data, an unwritable folder, nothing to resume, an incompatible
            checkpoint (other widths, layers or heads), a run of another painter in ``out_dir``.
    """
    config = (config or CUTConfig()).validate()
    return fit_painter(config, data, strategy, callbacks, verbose, kind=KIND, build=build_cut,
                       title="FastCUT" if config.mode == "fastcut" else "CUT", best_key=best_key)

def plan(config: CUTConfig, data=None, **kwargs):
    """:func:`stx_tf.cyclegan.planner.plan_run` for a CUT config: the epochs that fit a Kaggle session with
    the export (``kwargs``: ``strategy``, ``place``, ``limit``, ``reserve``, ...)."""
    from stx_tf.cyclegan.planner import plan_run

    return plan_run(config, data, build=build_cut, **kwargs)
