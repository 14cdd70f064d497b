"""The one atomic write: a failed write leaves the previous file (or nothing), never a partial one."""

from __future__ import annotations

import json

import pytest

from stx_tf import atomic


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "sub" / "model.keras"
    atomic.write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            assert tmp.suffix == ".keras" and tmp.name.startswith(".") and atomic.is_partial(tmp)
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in target.parent.iterdir()] == ["model.keras"]  # no temporary left behind
    with atomic.atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_write_json_round_trip(tmp_path):
    path = atomic.write_json(tmp_path / "run.json", {"epoch": 3})
    assert json.loads(path.read_text()) == {"epoch": 3}


def test_atomic_dir_swaps_whole_folder(tmp_path):
    target = tmp_path / "ckpt"
    with atomic.atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(ValueError):
        with atomic.atomic_dir(target) as tmp:
            (tmp / "b").write_text("2")
            raise ValueError("boom")
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    with atomic.atomic_dir(target) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
