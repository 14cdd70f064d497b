"""stx_tf.backend and stx_tf.runtime: the backend and devices picked on simulated Kaggle / Colab machines
(a TPU v5e-8 VM without TensorFlow's TPU build, GPUs, a legacy TPU node), the session limit, and the
error when the competition data is missing outside smoke mode.

The machines are simulated: environment variables, a temporary ``/dev`` and a table of installed packages.
The full ``setup_notebook`` on a simulated TPU VM runs under JAX in ``tests/jax/test_distribution.py``.
"""

from __future__ import annotations

import functools
import shutil

import pytest

from stx_tf import backend, settings
from stx_tf.data import discover
from stx_tf.runtime import setup_notebook

#: Kaggle's TPU image (Aug 2026): tensorflow-cpu beside jax[tpu].
KAGGLE_TPU_PACKAGES = {"tensorflow-cpu": "2.20.0", "jax": "0.7.1", "jaxlib": "0.7.1", "libtpu": "0.0.21"}
#: Kaggle's GPU image: TensorFlow with CUDA.
KAGGLE_GPU_PACKAGES = {"tensorflow": "2.20.0", "keras": "3.13.0"}
KAGGLE_TPU_ENV = {"ISTPUVM": "1", "TPU_ACCELERATOR_TYPE": "v5litepod-8", "KAGGLE_KERNEL_RUN_TYPE": "Batch"}


SIMULATED_ENV = (
    *settings.TPU_ENV,
    "STX_BACKEND",
    "KERAS_BACKEND",
    "KAGGLE_KERNEL_RUN_TYPE",
    "COLAB_RELEASE_TAG",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No TPU, backend or place variables from the outside; whatever a test sets (``choose`` sets
    ``KERAS_BACKEND``) is undone after it."""
    for name in SIMULATED_ENV:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setattr(backend, "_set_here", None)


@pytest.fixture()
def machine(monkeypatch, tmp_path):
    """``machine(env, devices, packages)`` → a :class:`stx_tf.backend.Machine` read from a simulated
    environment, a temporary ``/dev`` and a package table (each call starts from a machine with nothing);
    the simulated ``/dev`` also serves :func:`stx_tf.backend.session_accelerator`."""
    dev = tmp_path / "dev"
    monkeypatch.setattr(backend, "probe", functools.partial(backend.probe, dev))

    def make(env=None, devices=(), packages=None):
        shutil.rmtree(dev, ignore_errors=True)
        dev.mkdir()
        for name in SIMULATED_ENV:
            monkeypatch.delenv(name, raising=False)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        for name in devices:
            (dev / name).parent.mkdir(parents=True, exist_ok=True)
            (dev / name).touch()
        table = dict(packages or {})
        return backend.probe(versions=table.get)

    return make


def test_kaggle_tpu_vm_without_tf_tpu_picks_jax_and_three_hours(machine):
    m = machine(KAGGLE_TPU_ENV, devices=["vfio/0", "vfio/vfio"], packages=KAGGLE_TPU_PACKAGES)
    assert m.tpu_vm and m.has_tpu and not m.legacy_tpu_node and m.accelerator == "tpu"
    assert len(m.tpu_devices) == 1 and m.tpu_devices[0].endswith("vfio/0")  # not the vfio control file
    choice = backend.decide(m)
    assert (choice.backend, choice.accelerator) == ("jax", "tpu")
    assert "v5litepod-8" in choice.reason and "no TPU build" in choice.reason
    assert "tensorflow-cpu 2.20.0" in choice.reason and "libtpu 0.0.21" in choice.reason
    # The session limit follows the accelerator Kaggle attached, even when training runs on the CPU.
    assert backend.session_accelerator() == "tpu"
    assert backend.kaggle_time_limit("cpu") == backend.kaggle_time_limit() == 3 * 3600


def test_tpu_vm_with_tensorflows_tpu_build_keeps_tensorflow(machine):
    m = machine(KAGGLE_TPU_ENV, packages={**KAGGLE_TPU_PACKAGES, "tensorflow-tpu": "2.20.0"})
    assert backend.decide(m).backend == "tensorflow"


def test_a_tpu_no_backend_can_use_says_what_to_switch_to(machine):
    m = machine(KAGGLE_TPU_ENV, packages={"tensorflow-cpu": "2.20.0"})
    with pytest.raises(backend.NoUsableBackend, match=r"v5litepod-8.*neither backend.*GPU T4 x2"):
        backend.decide(m)
    # JAX without the TPU runtime would silently train on the CPU: refused as well.
    m = machine(KAGGLE_TPU_ENV, packages={"tensorflow-cpu": "2.20.0", "jax": "0.7.1"})
    with pytest.raises(
        backend.NoUsableBackend, match=r"no TPU support and JAX cannot drive it \(jax 0.7.1 \(CPU"
    ):
        backend.decide(m)
    # tpu=False is the explicit way to leave the TPU idle.
    choice = backend.decide(m, tpu=False)
    assert (choice.backend, choice.accelerator) == ("tensorflow", "cpu") and "tpu=False" in choice.reason


def test_gpus_pick_tensorflow_and_the_gpu_limit(machine):
    m = machine(
        {"KAGGLE_KERNEL_RUN_TYPE": "Interactive"},
        devices=["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"],
        packages=KAGGLE_GPU_PACKAGES,
    )
    assert len(m.gpu_devices) == 2 and not m.has_tpu
    choice = backend.decide(m)
    assert (choice.backend, choice.accelerator) == ("tensorflow", "gpu") and "2 GPUs" in choice.reason
    assert backend.kaggle_time_limit("gpu") == backend.KAGGLE_LIMITS["gpu"] > backend.KAGGLE_LIMITS["tpu"]


def test_explicit_choices_are_checked_against_the_accelerator(machine, monkeypatch):
    gpu = machine(devices=["nvidia0"], packages={**KAGGLE_GPU_PACKAGES, "jax": "0.7.1"})
    with pytest.raises(backend.NoUsableBackend, match="would train on the CPU"):
        backend.decide(gpu, backend="jax")
    cuda = machine(devices=["nvidia0"], packages={"jax": "0.7.1", "jax-cuda12-plugin": "0.7.1"})
    assert backend.decide(cuda, backend="jax").accelerator == "gpu"

    tpu = machine(KAGGLE_TPU_ENV, packages=KAGGLE_TPU_PACKAGES)
    monkeypatch.setenv("STX_BACKEND", "tensorflow")
    with pytest.raises(backend.NoUsableBackend, match=r"STX_BACKEND=tensorflow.*no TPU support.*jax"):
        backend.decide(tpu)
    assert backend.decide(tpu, tpu=False).accelerator == "cpu"
    monkeypatch.delenv("STX_BACKEND")

    cpu = machine(packages={"tensorflow": "2.20.0", "jax": "0.7.1"})
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    choice = backend.decide(cpu)
    assert (choice.backend, choice.accelerator) == ("jax", "cpu") and "KERAS_BACKEND=jax" in choice.reason
    assert backend.decide(cpu, backend="tf").backend == "tensorflow"
    with pytest.raises(ValueError, match="backend='torch'"):
        backend.decide(cpu, backend="torch")


def test_legacy_tpu_node_uses_tensorflow_and_its_address(machine):
    from stx_tf.strategy import tpu_requested

    m = machine({"TPU_NAME": "grpc://10.0.0.2:8470"}, packages={"tensorflow": "2.15.0"})
    assert m.legacy_tpu_node and not m.tpu_vm
    assert backend.decide(m).backend == "tensorflow"
    assert tpu_requested() == "grpc://10.0.0.2:8470"
    machine({"TPU_NAME": "grpc://10.0.0.2:8470", "ISTPUVM": "1"})  # the same name on a TPU VM: the local TPU
    assert tpu_requested() == "local"


def test_choose_refuses_a_keras_already_imported_with_another_backend(machine, monkeypatch):
    import keras

    assert keras.backend.backend() == "tensorflow"  # this test process
    m = machine(packages={"tensorflow": "2.20.0", "jax": "0.7.1"})
    monkeypatch.setattr(backend, "probe", lambda *a, **k: m)
    with pytest.raises(
        RuntimeError, match="already imported with the tensorflow backend.*Restart the kernel"
    ):
        backend.choose("jax")
    assert backend.choose("tensorflow", verbose=False).backend == "tensorflow"


def test_fake_gpu_that_tensorflow_cannot_see_is_an_error(machine, monkeypatch):
    machine(devices=["nvidia0", "nvidia1"])
    real = backend.probe
    monkeypatch.setattr(backend, "probe", lambda *a, **k: real(versions=KAGGLE_GPU_PACKAGES.get))
    monkeypatch.setenv("STX_SMOKE", "1")
    with pytest.raises(RuntimeError, match="2 GPUs attached but TensorFlow sees no GPU"):
        setup_notebook(needs_data=False, verbose=False)


def test_no_competition_data_outside_smoke_mode_says_how_to_attach_it(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STX_SMOKE", raising=False)
    monkeypatch.setenv("STX_KAGGLE_INPUT", str(tmp_path / "input"))
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    with pytest.raises(
        discover.CompetitionDataNotFound, match=r"Add Input → Competitions.*gan-getting-started"
    ):
        setup_notebook(out_dir=tmp_path / "out", verbose=False)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE")
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-20260801")
    with pytest.raises(discover.CompetitionDataNotFound, match="kaggle competitions download -c gan-getting"):
        discover.find_competition_data()
    ctx = setup_notebook(out_dir=tmp_path / "out", allow_sample=True, verbose=False)
    assert ctx.data.is_sample and ctx.backend == "tensorflow" and ctx.place == "colab"
    monkeypatch.setenv("STX_SMOKE", "1")
    assert discover.find_competition_data().is_sample


def test_setup_notebook_reports_backend_devices_and_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STX_SMOKE", "1")
    ctx = setup_notebook(out_dir=tmp_path / "out")
    text = capsys.readouterr().out
    assert ctx.backend == "tensorflow" and ctx.accelerator == "cpu" and ctx.time_limit is None
    assert "backend:  tensorflow on CPU" in text and "devices:  default strategy with 1 replica" in text
    assert "embedded sample" in text and "synthetic sample stands in" in text
    assert setup_notebook(out_dir=tmp_path / "out", needs_data=False, verbose=False).data is None
