"""The run skeleton every painter trains with: one run folder and resume policy, one checkpoint format
(backend-neutral, never non-finite, with a ``best`` slot), the NaN guard, the time budget, per-epoch
sample grids and curves, ``steps_per_execution`` handling.

A painter (CycleGAN, CUT, DCGAN, fast style) keeps only its model-specific parts: its config, nets,
Keras model and input pipeline, and calls :func:`fit_run` with the items its checkpoints hold and a
function that draws its sample grid.
"""

from stx_tf.training.callbacks import Curves, EpochEnd, NaNGuard, SampleGrid, TimeBudget, finite, sample_path
from stx_tf.training.checkpoint import (
    Checkpointer,
    NonFiniteStateError,
    assign,
    list_checkpoints,
    load_arrays,
)
from stx_tf.training.loop import RunResult, RunShortcuts, execution_steps, fit_run, parse_duration
from stx_tf.training.run import RESUME_POLICIES, RUN_FILE, RunFolder, read_run

__all__ = [
    "RESUME_POLICIES",
    "RUN_FILE",
    "Checkpointer",
    "Curves",
    "EpochEnd",
    "NaNGuard",
    "NonFiniteStateError",
    "RunFolder",
    "RunResult",
    "RunShortcuts",
    "SampleGrid",
    "TimeBudget",
    "assign",
    "execution_steps",
    "finite",
    "fit_run",
    "list_checkpoints",
    "load_arrays",
    "parse_duration",
    "read_run",
    "sample_path",
]
