"""The shared first step of every notebook: where are we, which strategy, where is the data."""

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
    strategy: object  # tf.distribute.Strategy
    data: object  # stx_tf.data.CompetitionData

    def summary(self) -> str:
        from stx_tf.strategy import describe

        return (
            f"place: {self.place} | smoke mode: {'on' if self.smoke else 'off'} | "
            f"strategy: {describe(self.strategy)} | data: {self.data} | outputs: {self.out_dir}"
        )


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


def setup_notebook(out_dir=None, tpu=None, data_dir=None, verbose: bool = True) -> NotebookContext:
    """Detect Kaggle / Colab / local, pick the strategy, find the data, make the output folder.

    Args:
        out_dir: override the output folder.
        tpu: passed to :func:`stx_tf.strategy.get_strategy` (``False`` to never use a TPU).
        data_dir: an explicit competition data folder.
        verbose: print one summary line.
    """
    from stx_tf.data import find_competition_data
    from stx_tf.strategy import get_strategy, is_tpu

    place = current_place()
    strategy = get_strategy(tpu=tpu, verbose=verbose)
    data = find_competition_data(data_dir, gcs=is_tpu(strategy) and place == "kaggle")
    out = Path(out_dir) if out_dir else default_out_dir(place)
    out.mkdir(parents=True, exist_ok=True)
    ctx = NotebookContext(place=place, smoke=settings.smoke_mode(), out_dir=out, strategy=strategy, data=data)
    if verbose:
        print(ctx.summary())
    return ctx
