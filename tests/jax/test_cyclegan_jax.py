"""The CycleGAN painter under Keras' JAX backend: the training contract (exact resume, NaN guard, time
budget, grids), one data-parallel step over two devices equal to one single-device step, and a run trained
under JAX exported under TensorFlow (and the reverse) with the same pixels."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
from contract import Painter, check_contract

from stx_tf import strategy
from stx_tf.cyclegan.config import CycleGANConfig
from stx_tf.cyclegan.model import NETS, build_cyclegan
from stx_tf.cyclegan.train import load_generator, train

TINY = {"filters": 4, "res_blocks": 1, "disc_filters": 4, "image_size": 32}
ROOT = Path(__file__).resolve().parents[2]


def _data(tmp_path):
    """12 photos and 6 paintings as JPEG folders (no embedded sample: it is made by the TF suite)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    folders = []
    for name, n in (("photo", 12), ("monet", 6)):
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(folder / f"{i}.jpg")
        folders.append(str(folder))
    return tuple(folders)


def test_training_contract_under_jax(tmp_path):
    data = _data(tmp_path)

    def run(run_dir, epochs, callbacks, budget):
        config = CycleGANConfig(
            **TINY, batch_size=2, steps_per_epoch=2, epochs=epochs, decay_epochs=0, samples=2,
            out_dir=str(run_dir), time_budget=budget, diff_augment="color,translation,cutout", precision="float32",
        )
        return train(config, data=data, callbacks=callbacks, verbose=0)

    check_contract(
        Painter(train=run, items=lambda m: m.checkpoint_items(), optimizer=lambda m: m.optimizer), tmp_path
    )


def _one_step(distribution):
    keras.distribution.set_distribution(distribution)
    keras.utils.set_random_seed(0)
    model = build_cyclegan(CycleGANConfig(**TINY, adversarial_loss="bce"))
    model.compile(keras.optimizers.SGD(0.5), adversarial_loss="bce", label_smoothing=0.1)
    rng = np.random.default_rng(0)
    batch = tuple(rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32") for _ in range(2))
    before = {name: getattr(model, name).get_weights() for name in NETS}
    logs = model.fit(batch[0], batch[1], batch_size=4, epochs=1, shuffle=False, verbose=0).history
    return before, {name: getattr(model, name).get_weights() for name in NETS}, logs


def test_data_parallel_step_equals_single_device_step():
    start, single, single_logs = _one_step(None)
    start2, multi, multi_logs = _one_step(strategy.get_distribution(verbose=False))
    moved = worst = 0.0
    for name in NETS:
        for a, b, s, s2 in zip(single[name], multi[name], start[name], start2[name]):
            np.testing.assert_array_equal(s, s2)
            worst = max(worst, float(np.abs(a - b).max()))
            moved = max(moved, float(np.abs(a - s).max()))
    assert moved > 1e-4, "the step changed the weights"
    assert worst < 1e-5 * max(1.0, moved), (worst, moved)
    for key, value in single_logs.items():
        np.testing.assert_allclose(multi_logs[key], value, rtol=1e-5)


EXPORT_UNDER_TF = """
import sys, numpy as np
from stx_tf.cyclegan.train import load_generator
x = np.load(sys.argv[2])
for source in sys.argv[1].split(","):
    np.save(source + ".tf.npy", np.asarray(load_generator(source)(x, training=False)))
print("OK")
"""


def test_a_jax_run_exports_under_tensorflow(tmp_path):
    data = _data(tmp_path)
    config = CycleGANConfig(**TINY, batch_size=2, steps_per_epoch=2, epochs=1, decay_epochs=0, samples=1,
                            out_dir=str(tmp_path / "run"), precision="float32")
    result = train(config, data=data, verbose=0)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    ours = np.asarray(result.model.monet_generator(x, training=False))
    keras_file = str(result.generator_path)
    ckpt_only = tmp_path / "ckpt_only"  # the run folder without its .keras: the checkpoint's arrays
    import shutil

    shutil.copytree(tmp_path / "run", ckpt_only)
    (ckpt_only / "monet_generator.keras").unlink()
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", EXPORT_UNDER_TF, f"{keras_file},{ckpt_only}", str(tmp_path / "x.npy")],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-3000:]
    for source in (keras_file, str(ckpt_only)):
        np.testing.assert_allclose(np.load(source + ".tf.npy"), ours, atol=1e-5)
    np.testing.assert_allclose(np.asarray(load_generator(ckpt_only)(x)), ours, atol=1e-6)
