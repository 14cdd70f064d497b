"""The shape every configuration of stx_tf has: a small dataclass whose fields carry their own help.

A painter's config (``CycleGANConfig``, ``DCGANConfig``, ``FastStyleConfig``, ...) is a dataclass that
inherits :class:`Config` and declares each field with :func:`option`: its default, a help text, and its
choices. The command line (:mod:`stx_tf.cli.options`) is generated from these fields, so a default, a
choice or a help text is written once, here, and the CLI, the notebooks and the tests fill the same
object. Field names are one vocabulary across painters: ``out_dir``, ``resume``, ``epochs``,
``batch_size`` (per replica), ``image_size``, ``steps_per_execution``, ``precision``, ``time_budget``,
``seed``, ``skip_bad``.

Importing this module is cheap (no TensorFlow), so ``stx --help`` is fast.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, ClassVar

#: Metadata keys read by the CLI generator.
HELP, CHOICES, CLI = "help", "choices", "cli"

#: Accepted values of every painter's ``resume`` setting (see :class:`stx_tf.training.RunFolder`).
RESUME_POLICIES = ("auto", True, False)

#: Normalisations a net can be built with (:func:`stx_tf.nn.norm_layer`).
NORMS = ("instance", "batch", "none")

_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$"
)


def parse_duration(text) -> float:
    """``"2h50m"``, ``"90m"``, ``"45s"``, ``"1h 5m 30s"`` or a number of seconds -> seconds.

    Raises:
        ValueError: anything else, or a duration that is not positive.
    """
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        raw = str(text).strip().lower()
        try:
            seconds = float(raw)
        except ValueError:
            match = _DURATION.match(raw)
            if not raw or not match or not any(match.groups()):
                raise ValueError(
                    f"time budget {text!r}: expected e.g. '2h50m', '90m', '45s' or seconds"
                ) from None
            h, m, s = (float(g) if g else 0.0 for g in match.groups())
            seconds = 3600 * h + 60 * m + s
    if seconds <= 0:
        raise ValueError(f"time budget {text!r} must be positive")
    return seconds




def option(default: Any = dataclasses.MISSING, *, help: str, choices=None, factory=None, cli: bool = True):
    """A dataclass field with its help text (and allowed values) in its metadata.

    Args:
        default: the default value (paper defaults, say so in ``help``).
        help: one line for ``--help`` and the docs.
        choices: allowed values, checked by :meth:`Config.validate` and offered by the CLI.
        factory: a default factory (lists, dicts) instead of ``default``.
        cli: ``False`` keeps the field out of the command line (Python-only settings).
    """
    metadata = {HELP: help, CHOICES: tuple(choices) if choices is not None else None, CLI: cli}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class Config:
    """Mixin of every configuration dataclass: validation, JSON round trip, copies with changes.

    Subclasses list in ``ARCHITECTURE`` the fields a checkpoint must agree on to be continued, and in
    ``AT_LEAST_ONE`` the integer fields that must be ``>= 1``; they extend :meth:`validate` for the rest.
    """

    ARCHITECTURE: ClassVar[tuple[str, ...]] = ()
    AT_LEAST_ONE: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        self.validate()

    def validate(self):
        """Check the values; raise a ``ValueError`` naming the bad field. Returns ``self``."""
        name = type(self).__name__
        for f in dataclasses.fields(self):
            choices = f.metadata.get(CHOICES)
            value = getattr(self, f.name)
            if choices is not None and value is not None and value not in choices:
                raise ValueError(f"{name}.{f.name} must be one of {', '.join(map(str, choices))}; got {value!r}")
        for field_name in self.AT_LEAST_ONE:
            value = getattr(self, field_name)
            if value is not None and int(value) < 1:
                raise ValueError(f"{name}.{field_name} must be >= 1, got {value}")
        return self

    def checkpoint_fields(self) -> dict:
        """The fields a checkpoint must agree on."""
        return {k: _jsonable(getattr(self, k)) for k in self.ARCHITECTURE}

    def to_dict(self) -> dict:
        """A JSON-able copy (paths as strings, tuples as lists)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: dict):
        """Build from a dict, ignoring unknown keys (runs written by other versions)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def updated(self, **changes):
        """A copy with some fields changed (``None`` values are ignored, for CLI options)."""
        return self.from_dict({**self.to_dict(), **{k: v for k, v in changes.items() if v is not None}})
