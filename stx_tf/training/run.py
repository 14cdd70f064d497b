"""The run folder every painter trains into: one resume policy, one ``run.json``, one history.

A run folder holds

* ``run.json`` - which painter (``kind``), its configuration, the epochs done, the metric history (one
  list per metric, aligned by epoch), the best score so far, rewritten atomically after every epoch;
* ``checkpoints/`` - see :mod:`stx_tf.training.checkpoint`;
* ``samples/epoch_NNN.png`` and the curves PNGs - see :mod:`stx_tf.training.callbacks`;
* whatever the painter exports at the end (a generator, a transform net).

**Resume policy** (the same for every painter, the CLI and the notebooks): ``resume="auto"`` continues a
run found in the folder and starts a new one otherwise; ``True`` insists on continuing (error if there is
nothing to continue); ``False`` insists on a new run and refuses a folder that already holds one, so
nothing is overwritten by accident.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from stx_tf import atomic
from stx_tf.configs import RESUME_POLICIES

RUN_FILE = "run.json"


def read_run(run_dir) -> dict:
    """The ``run.json`` of a run folder.

    Raises:
        ValueError: no ``run.json`` or an unreadable one.
    """
    path = Path(run_dir) / RUN_FILE
    if not path.is_file():
        raise ValueError(f"{run_dir}: not a training run folder (no {RUN_FILE})")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable run state ({err})") from None


def _check_writable(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path / ".write-test", "")
        (path / ".write-test").unlink()
    except OSError as err:
        raise ValueError(f"{path}: output folder is not writable ({err.strerror or err})") from None


class RunFolder:
    """Open (and create) a run folder, deciding by the resume policy whether the run continues.

    Args:
        path: the folder.
        kind: the painter (``"cyclegan"``, ``"dcgan"``, ``"fast_style"``, ...): a run of another kind is
            never continued.
        config: the run's JSON-able configuration (written to ``run.json``).
        architecture: the settings a checkpoint must agree on to be continued (layer shapes).
        resume: ``"auto"``, ``True`` or ``False`` (see the module docs).

    Raises:
        ValueError: an unwritable folder, nothing to resume, a folder holding a run while ``resume=False``,
            or a run of another kind / architecture.
    """

    def __init__(self, path, kind: str, config: dict, architecture: dict | None = None, resume="auto"):
        if resume not in RESUME_POLICIES:
            raise ValueError(f"resume must be 'auto', True or False, got {resume!r}")
        self.path = Path(path)
        self.kind = kind
        self.config = dict(config)
        _check_writable(self.path)
        exists = (self.path / RUN_FILE).is_file()
        if resume is True and not exists:
            raise ValueError(f"{self.path}: nothing to resume (no {RUN_FILE}); start without --resume")
        if resume is False and exists:
            raise ValueError(
                f"{self.path}: already holds a run; continue it (resume='auto', the default) or use another folder"
            )
        self.resuming = exists
        self.saved = read_run(self.path) if exists else {}
        if exists:
            self._check_compatible(architecture or {})
        self.history: dict[str, list[float]] = {
            k: list(v) for k, v in self.saved.get("history", {}).items()
        }
        self.best: dict | None = self.saved.get("best")
        self.epoch = int(self.saved.get("epoch", 0))

    def _check_compatible(self, architecture: dict) -> None:
        saved_kind = self.saved.get("kind", self.kind)
        if saved_kind != self.kind:
            raise ValueError(
                f"{self.path}: holds a {saved_kind} run, not a {self.kind} run; use another folder"
            )
        saved = self.saved.get("config", {})
        diffs = [
            f"{k}={saved.get(k)!r} (asked for {v!r})"
            for k, v in architecture.items()
            if k in saved and saved[k] != v
        ]
        if diffs:
            raise ValueError(
                f"{self.path}: incompatible checkpoint: it was trained with {', '.join(diffs)}. "
                "Use the same settings to resume, or another output folder for a new run."
            )

    @property
    def epochs_done(self) -> int:
        """Epochs recorded in the history (the run's length so far)."""
        return max((len(v) for v in self.history.values()), default=0)

    def record(self, epoch: int, logs: dict) -> None:
        """Append one epoch's metric means; a metric new to a resumed run starts with gaps (NaN), so all
        series stay aligned by epoch."""
        done = self.epochs_done
        for key, value in logs.items():
            self.history.setdefault(key, [math.nan] * done).append(float(value))
        for series in self.history.values():
            series.extend([math.nan] * (done + 1 - len(series)))
        self.epoch = int(epoch)

    def write(self, **extra) -> Path:
        """Rewrite ``run.json`` atomically (kind, config, epoch, history, best, and ``extra`` fields)."""
        payload = {
            **{k: v for k, v in self.saved.items() if k not in ("history",)},
            "kind": self.kind,
            "config": self.config,
            "epoch": self.epoch,
            "history": self.history,
            "best": self.best,
            **extra,
        }
        self.saved = payload
        return atomic.write_json(self.path / RUN_FILE, payload)
