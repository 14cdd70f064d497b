"""Shared fixtures. Tests never need the network; data under ``../shared`` is optional."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from images import make_rgb

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests never write to the user's cache: the embedded sample is made once per test session here.
os.environ["STX_CACHE_DIR"] = os.environ.get("STX_TEST_CACHE_DIR") or tempfile.mkdtemp(
    prefix="stx-test-cache-"
)
os.environ.pop("STX_DATA_DIR", None)

#: Real data beside the checkout (CI has it, users do not): tests using it skip when absent.
SHARED = Path(os.environ.get("STX_SHARED", Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"real data folder {SHARED} not present")
    return SHARED


@pytest.fixture(scope="session")
def competition_dir(shared_dir) -> Path:
    path = shared_dir / "data" / "gan-getting-started"
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture(scope="session")
def squeezenet_weights(shared_dir) -> Path:
    path = shared_dir / "weights" / "squeezenet" / "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture()
def rgb_factory():
    return make_rgb


@pytest.fixture()
def jpeg_folder(tmp_path):
    """A folder of 6 small 256x256 JPEGs."""
    from PIL import Image

    folder = tmp_path / "jpgs"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(make_rgb(i)).save(folder / f"img{i:02d}.jpg", quality=90)
    return folder
