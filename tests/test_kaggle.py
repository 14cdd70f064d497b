"""Kaggle delivery: every notebook has valid push-ready metadata, the standard setup and no outputs;
the wheel installs offline."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from stx_tf import kaggle
from stx_tf.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def test_every_notebook_is_in_the_series():
    on_disk = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert on_disk == sorted(spec.notebook for spec in kaggle.KERNELS)


@pytest.mark.parametrize("spec", kaggle.KERNELS, ids=lambda s: s.notebook)
def test_notebook_is_committable(spec):
    assert kaggle.notebook_problems(NOTEBOOKS / spec.notebook) == []


@pytest.mark.parametrize("spec", kaggle.KERNELS, ids=lambda s: s.notebook)
def test_committed_metadata_is_current_and_valid(spec):
    path = ROOT / "kaggle" / kaggle.slug(spec) / "kernel-metadata.json"
    committed = json.loads(path.read_text())
    assert committed == kaggle.kernel_metadata(spec, kaggle.PLACEHOLDER_USER), (
        "run: stx kaggle build --no-wheel"
    )
    assert committed["code_file"] == spec.notebook
    assert f"{kaggle.PLACEHOLDER_USER}/{kaggle.WHEEL_DATASET}" in committed["dataset_sources"]
    if spec.competition:
        assert committed["competition_sources"] == ["gan-getting-started"]


def test_submission_notebook_runs_offline_on_tpu():
    spec = next(s for s in kaggle.KERNELS if s.notebook.startswith("03_"))
    meta = kaggle.kernel_metadata(spec, "someone")
    assert meta["enable_internet"] is False and meta["enable_tpu"] is True and meta["enable_gpu"] is False


def test_build_writes_push_ready_folders(tmp_path, capsys):
    out = tmp_path / "kaggle"
    code = main(
        ["kaggle", "build", "--out", str(out), "--notebooks", str(NOTEBOOKS), "--user", "alice", "--no-wheel"]
    )
    assert code == 0
    for spec in kaggle.KERNELS:
        folder = out / kaggle.slug(spec)
        assert kaggle.validate_kernel_folder(folder) == []
        meta = json.loads((folder / "kernel-metadata.json").read_text())
        assert meta["id"] == f"alice/{kaggle.slug(spec)}"
        nb = json.loads((folder / spec.notebook).read_text())
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    assert (
        json.loads((out / kaggle.WHEEL_DATASET / "dataset-metadata.json").read_text())["id"]
        == "alice/stx-tf-wheel"
    )
    assert main(["kaggle", "check", "--out", str(out)]) == 0


def test_validation_catches_bad_metadata(tmp_path):
    folder = tmp_path / "k"
    folder.mkdir()
    (folder / "kernel-metadata.json").write_text(
        json.dumps({"id": "nouser", "title": "T", "kernel_type": "app"})
    )
    problems = " ".join(kaggle.validate_kernel_folder(folder))
    assert "code_file" in problems and "username/slug" in problems and "kernel_type" in problems


def test_fix_notebook_strips_outputs_and_inserts_setup(tmp_path):
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# Title"},
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 3,
                "source": "print(1)",
                "outputs": [{"x": 1}],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    assert len(kaggle.notebook_problems(path)) == 2
    kaggle.fix_notebook(path)
    assert kaggle.notebook_problems(path) == []
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["cell_type"] == "markdown" and cells[3]["source"] == "print(1)"


def test_wheel_installs_offline(tmp_path):
    wheel = kaggle.build_wheel(ROOT, tmp_path / "wheels")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert "stx_tf/data/tfrecords.py" in names and "stx_tf/cli/__init__.py" in names
    target = tmp_path / "site"
    pip = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-q",
        "--no-index",
        "--no-deps",
        "--find-links",
        str(wheel.parent),
    ]
    subprocess.run([*pip, "--target", str(target), "stx_tf"], check=True)
    probe = "import stx_tf.kaggle, sys; print(stx_tf.kaggle.__file__)"
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe],  # -S: no site-packages, so no editable install of the checkout
        env={"PYTHONPATH": str(target)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert str(target) in out.stdout, out.stderr


def test_build_writes_the_fid_weights_dataset_for_offline_scoring(tmp_path, monkeypatch):
    """`stx kaggle build --fid-weights` converts the network to Keras weights in a dataset folder, attaches it
    to notebook 03 only, and the scorer finds it where Kaggle mounts it."""
    import shutil

    from stx_tf.metrics import fid_inception_net, fid_weights

    source = fid_weights.save_weights(fid_inception_net.build(), tmp_path / "src" / "random.weights.h5")
    out = tmp_path / "kaggle"
    args = [
        "kaggle",
        "build",
        "--out",
        str(out),
        "--notebooks",
        str(NOTEBOOKS),
        "--user",
        "alice",
        "--no-wheel",
    ]
    assert main(args + ["--fid-weights", str(source)]) == 0
    dataset = out / kaggle.FID_DATASET
    meta = json.loads((dataset / "dataset-metadata.json").read_text())
    assert meta["id"] == f"alice/{kaggle.FID_DATASET}" and meta["licenses"]
    assert sorted(p.name for p in dataset.iterdir()) == ["dataset-metadata.json", fid_weights.WEIGHTS_NAME]
    for spec in kaggle.KERNELS:
        folder = out / kaggle.slug(spec)
        sources = json.loads((folder / "kernel-metadata.json").read_text())["dataset_sources"]
        assert (f"alice/{kaggle.FID_DATASET}" in sources) == (spec.notebook in kaggle.SCORING_NOTEBOOKS)
        assert kaggle.validate_kernel_folder(folder) == []
    mounted = tmp_path / "input" / "datasets" / "alice" / kaggle.FID_DATASET  # Kaggle's newer mount layout
    shutil.copytree(dataset, mounted)
    monkeypatch.delenv("STX_FID_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(fid_weights, "package_file", lambda: None)
    found = fid_weights.find_weights(kaggle_input=tmp_path / "input")
    assert found == mounted / fid_weights.WEIGHTS_NAME
    assert fid_weights.fingerprint(fid_weights.load_model(found)) == fid_weights.fingerprint(
        fid_weights.load_model(source)
    )
    with pytest.raises(ValueError, match="missing.pt"):
        kaggle.write_fid_dataset(tmp_path / "missing.pt", tmp_path / "k2", "alice")
