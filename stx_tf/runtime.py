"""The shared first step of every notebook: where are we, which backend and devices, where is the data.

:func:`setup_notebook` is the notebooks' second setup cell. In order, it

1. picks Keras' backend before Keras is imported (:func:`stx_tf.backend.choose`: JAX on a TPU VM whose
   TensorFlow has no TPU build, such as Kaggle's TPU v5e-8; TensorFlow on GPUs and CPUs; ``backend=`` or
   ``STX_BACKEND`` to choose yourself),
2. finds the competition data (local files first, also on TPU VMs; an error saying how to attach it when
   it is missing, unless ``allow_sample=True`` or smoke mode),
3. starts the devices: a ``tf.distribute`` strategy under TensorFlow (:func:`stx_tf.strategy.get_strategy`),
   Keras' ``DataParallel`` over all devices under JAX (:func:`stx_tf.strategy.get_distribution`),

and prints what it chose and why. A detected accelerator that cannot be used is an error, never a silent
CPU run. This module imports no framework at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stx_tf import settings


@dataclass
class NotebookContext:
    """What a notebook needs to know about its surroundings."""

    place: str  # "kaggle", "colab" or "local"
    smoke: bool  # STX_SMOKE: tiny sizes and steps, random weights
    out_dir: Path  # where outputs go (/kaggle/working on Kaggle)
    strategy: object  # tf.distribute.Strategy (TensorFlow) or keras.distribution.DataParallel (JAX)
    data: object  # stx_tf.data.CompetitionData, or None (needs_data=False)
    backend: str = "tensorflow"  # Keras' backend: "tensorflow" or "jax"
    accelerator: str = "cpu"  # what training runs on: "tpu", "gpu" or "cpu"
    why: str = ""  # why this backend and accelerator
    time_limit: float | None = None  # Kaggle's run-time limit for this session, seconds (None elsewhere)

    @property
    def distribution(self):
        """The strategy (TensorFlow) or Keras distribution (JAX) training uses: :attr:`strategy`."""
        return self.strategy

    def summary(self) -> str:
        from stx_tf.strategy import describe, replicas

        limit = f", session limit {self.time_limit / 3600:g} h" if self.time_limit else ""
        n = replicas(self.strategy)
        lines = [
            f"place:    {self.place}{limit} | smoke mode: {'on' if self.smoke else 'off'}",
            f"backend:  {self.backend} on {self.accelerator.upper()} — {self.why}",
            f"devices:  {describe(self.strategy)} (global batch = per-replica batch × {n})",
            f"data:     {self.data if self.data is not None else 'not needed'}",
            f"outputs:  {self.out_dir}",
        ]
        return "\n".join(lines)


def current_place() -> str:
    if settings.on_kaggle():
        return "kaggle"
    if settings.on_colab():
        return "colab"
    return "local"


def default_out_dir(place: str) -> Path:
    return {"kaggle": Path("/kaggle/working"), "colab": Path("/content/stx_outputs")}.get(
        place, Path("outputs")
    )


def _start_devices(choice, tpu, verbose: bool):
    """The strategy (TensorFlow) or distribution (JAX) over the accelerator ``choice`` expects.

    Raises:
        RuntimeError: the expected accelerator is not what the framework sees.
    """
    from stx_tf import strategy as strategies

    if choice.backend == "jax":
        return strategies.get_distribution(expect=choice.accelerator, verbose=verbose)
    chosen = strategies.get_strategy(tpu=tpu, verbose=verbose)
    seen = strategies.device_kind(chosen)
    if choice.accelerator in ("tpu", "gpu") and seen != choice.accelerator:
        label = choice.machine.accelerator_label()
        raise RuntimeError(
            f"{label} attached but TensorFlow sees no {choice.accelerator.upper()} (it would train on the "
            f"{seen.upper()}): {choice.machine.tensorflow_build()} may be a CPU-only build, or CUDA failed "
            "to load (see the messages above). Use setup_notebook(backend='jax') if JAX can use it, or "
            "switch the accelerator"
        )
    return chosen


def setup_notebook(
    out_dir=None,
    tpu=None,
    data_dir=None,
    backend: str | None = None,
    allow_sample: bool | None = None,
    needs_data: bool = True,
    verbose: bool = True,
) -> NotebookContext:
    """Detect Kaggle / Colab / local, pick the backend and devices, find the data, make the output folder.

    Call it before anything imports Keras (the backend is fixed when Keras is first imported).

    Args:
        out_dir: override the output folder.
        tpu: ``None`` uses a TPU when one is attached; ``False`` never does (TensorFlow then trains on the
            CPU); a string names a TPU for :func:`stx_tf.strategy.get_strategy`.
        data_dir: an explicit competition data folder.
        backend: ``"jax"`` or ``"tensorflow"`` (default: ``STX_BACKEND``, ``KERAS_BACKEND``, else detected).
        allow_sample: use the embedded synthetic sample when no competition data is found (default: only
            in smoke mode; without it, missing data raises with how to attach it).
        needs_data: ``False`` for notebooks that do not use the competition data (``ctx.data`` is None).
        verbose: print the summary.

    Raises:
        stx_tf.backend.NoUsableBackend: the attached accelerator can be used by no installed backend.
        stx_tf.data.discover.CompetitionDataNotFound: no data, and the sample not allowed.
        RuntimeError: the framework does not see the accelerator that is attached, or Keras was imported
            with another backend before this call.
    """
    from stx_tf.backend import choose, kaggle_time_limit

    choice = choose(backend, tpu=False if tpu is False else None, verbose=False)
    place = current_place()
    data = None
    if needs_data:
        from stx_tf.data import find_competition_data

        gcs = choice.machine.legacy_tpu_node and choice.accelerator == "tpu" and place == "kaggle"
        data = find_competition_data(data_dir, gcs=gcs, allow_sample=allow_sample)
    devices = _start_devices(choice, tpu, verbose)
    out = Path(out_dir) if out_dir else default_out_dir(place)
    out.mkdir(parents=True, exist_ok=True)
    ctx = NotebookContext(
        place=place,
        smoke=settings.smoke_mode(),
        out_dir=out,
        strategy=devices,
        data=data,
        backend=choice.backend,
        accelerator=choice.accelerator,
        why=choice.reason,
        time_limit=kaggle_time_limit(choice.accelerator) if place == "kaggle" else None,
    )
    if verbose:
        print(ctx.summary())
        if data is not None and data.is_sample:
            print(
                "note: the embedded synthetic sample stands in for the competition data: results are a demo"
            )
    return ctx
