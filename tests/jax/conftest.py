"""The JAX tests: Keras' JAX backend on two virtual CPU devices, in a process of their own.

Keras fixes its backend when it is first imported, so these tests cannot share a process with the
TensorFlow suite. Run them with (README's test command does)::

    KERAS_BACKEND=jax STX_SMOKE=1 python -m pytest -q tests/jax

In a process started for them (``KERAS_BACKEND=jax``, or only ``tests/jax`` on the command line and Keras
not imported yet) this file sets ``KERAS_BACKEND=jax`` and
``XLA_FLAGS=--xla_force_host_platform_device_count=2`` before Keras or JAX start, so
``keras.distribution.DataParallel`` has two devices to split a batch over. Anywhere else (``pytest tests``,
whose Keras runs on TensorFlow) the tests here are skipped, saying how to run them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
#: Virtual CPU devices XLA makes for the JAX tests.
DEVICES = 2
DEVICE_FLAG = f"--xla_force_host_platform_device_count={DEVICES}"
HOW = "JAX tests run in their own process: KERAS_BACKEND=jax python -m pytest -q tests/jax"

_skip_reason: str | None = None


def _only_here(args) -> bool:
    paths = [Path(str(a).split("::")[0]).resolve() for a in args]
    return bool(paths) and all(p == HERE or HERE in p.parents for p in paths)


def pytest_configure(config):
    """Make this process a JAX one, or note why the tests here are skipped."""
    global _skip_reason
    keras = sys.modules.get("keras")
    imported = keras.backend.backend() if keras is not None else None
    wanted = os.environ.get("KERAS_BACKEND") == "jax" or (_only_here(config.args) and imported is None)
    if not wanted:
        _skip_reason = HOW
    elif imported not in (None, "jax"):
        _skip_reason = f"Keras is already imported with the {imported} backend. {HOW}"
    elif importlib.util.find_spec("jax") is None:
        _skip_reason = "JAX is not installed: pip install -e '.[dev]'"
    else:
        os.environ["KERAS_BACKEND"] = "jax"
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_force_host_platform_device_count" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {DEVICE_FLAG}".strip()


def pytest_collection_modifyitems(config, items):
    if _skip_reason is None:
        return
    skip = pytest.mark.skip(reason=_skip_reason)
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def no_distribution_left():
    """Each test starts and ends without a global Keras distribution."""
    import keras

    keras.distribution.set_distribution(None)
    yield
    keras.distribution.set_distribution(None)
