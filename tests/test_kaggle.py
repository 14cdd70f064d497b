"""Kaggle delivery: every notebook has valid push-ready metadata, the standard setup and no outputs;
the wheel installs offline; the install cell finds the wheel at any depth of Kaggle's input folder and
explains itself offline."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
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


def test_submission_notebook_runs_offline_on_two_t4s():
    spec = kaggle.spec_for("notebooks/03_monet_cyclegan.ipynb")
    meta = kaggle.kernel_metadata(spec, "someone")
    assert meta["enable_internet"] is False and meta["enable_gpu"] is True and meta["enable_tpu"] is False
    assert meta["machine_shape"] == "NvidiaTeslaT4"  # T4 x2: MirroredStrategy
    assert kaggle.MACHINE_SHAPES["tpu"] == "TpuV5E8"  # what switching to the TPU asks for


def test_setup_cells_say_which_notebooks_may_use_the_sample():
    cells = {spec.notebook[:2]: kaggle.setup_cell(spec) for spec in kaggle.KERNELS}
    assert cells["03"] == cells["02"] == kaggle.SETUP_CELL and cells["03"].endswith("setup_notebook()")
    assert cells["00"].endswith("setup_notebook(allow_sample=True)") and "synthetic sample" in cells["00"]
    assert cells["04"].endswith("setup_notebook(needs_data=False)")
    for text in [kaggle.INSTALL_CELL, *cells.values()]:
        compile(text, "cell", "exec")


def _tiny_wheel(folder: Path, version: str = "9.9.9") -> Path:
    """A minimal pure-Python wheel of a package named ``stx_tf`` (one module recording its version)."""
    dist = f"stx_tf-{version}.dist-info"
    files = {
        "stx_tf/__init__.py": f"__version__ = {version!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: stx_tf\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"stx_tf-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return wheel


@pytest.fixture()
def install_cell(monkeypatch, tmp_path):
    """Run the install cell as on a machine without stx_tf, Kaggle's input folder at ``tmp_path/input``;
    ``run(pip_result)`` records pip's command lines and either answers with ``pip_result`` (a
    ``(returncode, stderr)`` pair) or, when it is None, really runs pip into ``tmp_path/site``."""
    real_find_spec, real_run = importlib.util.find_spec, subprocess.run
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name == "stx_tf" else real_find_spec(name, *a, **k),
    )
    monkeypatch.setenv("STX_KAGGLE_INPUT", str(tmp_path / "input"))
    monkeypatch.delenv("STX_PIP_SPEC", raising=False)
    calls = []

    def run(pip_result=None):
        def fake_run(cmd, **kwargs):
            calls.append(cmd)
            if pip_result is None:
                return real_run([*cmd, "--target", str(tmp_path / "site")], **kwargs)
            return subprocess.CompletedProcess(cmd, pip_result[0], "", pip_result[1])

        monkeypatch.setattr(subprocess, "run", fake_run)
        exec(compile(kaggle.INSTALL_CELL, "install-cell", "exec"), {})
        return calls

    return run


def test_install_cell_finds_the_wheel_in_a_nested_input_layout(install_cell, tmp_path):
    wheel = _tiny_wheel(tmp_path / "input" / "datasets" / "someone" / "stx-tf-wheel")
    _tiny_wheel(tmp_path / "input" / "gan-getting-started").unlink()  # other datasets hold no wheel
    (cmd,) = install_cell()
    assert "--no-index" in cmd and "--no-deps" in cmd and f"--find-links={wheel.parent}" in cmd
    installed = tmp_path / "site" / "stx_tf" / "__init__.py"
    assert installed.read_text() == "__version__ = '9.9.9'\n"  # pip really installed the nested wheel


def test_install_cell_offline_without_the_wheel_says_what_to_attach(install_cell):
    offline = (1, "ERROR: Cannot find command 'git' - do you have 'git' installed and in your PATH?")
    with pytest.raises(
        RuntimeError, match=r"(?s)no stx_tf wheel is attached.*Add Input → Datasets → your stx-tf-wheel"
    ):
        install_cell(offline)


def test_install_cell_does_nothing_where_stx_tf_is_installed(monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("pip must not run"))
    exec(compile(kaggle.INSTALL_CELL, "install-cell", "exec"), {})


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
