"""The CUT painter under Keras' JAX backend: the training contract (exact resume, NaN guard, time budget,
grids), FastCUT whose MLP heads (built before the stateless step) learn, a finite gradient for a zero
projection, one data-parallel step over two devices equal to one single-device step, and a JAX run exported
under TensorFlow with the same pixels."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
from contract import Painter, check_contract
from test_cyclegan_jax import _data  # 12 photos and 6 paintings as JPEG folders

from stx_tf.cut.config import CUTConfig
from stx_tf.cut.model import NETS, build_cut
from stx_tf.cut.train import train

TINY = {"filters": 4, "res_blocks": 1, "disc_filters": 4, "image_size": 32, "num_patches": 16, "head_units": 8}
ROOT = Path(__file__).resolve().parents[2]


def _config(run_dir, **changes):
    values = dict(TINY, batch_size=2, steps_per_epoch=2, epochs=1, decay_epochs=0, samples=2,
                  out_dir=str(run_dir), precision="float32")
    return CUTConfig(**{**values, **changes})


def test_zero_projection_has_a_finite_gradient():
    """A head whose ReLUs are all off gives a zero vector: its normalisation must not turn the step's
    gradient into NaN (JAX's square root has an infinite slope at 0)."""
    import jax
    import jax.numpy as jnp

    from stx_tf.losses import l2_normalize

    grad = jax.grad(lambda x: jnp.sum(l2_normalize(x)))(jnp.zeros((2, 4)))
    assert np.all(np.isfinite(np.asarray(grad)))


def test_training_contract_under_jax(tmp_path):
    data = _data(tmp_path)

    def run(run_dir, epochs, callbacks, budget):
        config = _config(run_dir, epochs=epochs, time_budget=budget, diff_augment="color,translation,cutout")
        return train(config, data=data, callbacks=callbacks, verbose=0)

    check_contract(
        Painter(train=run, items=lambda m: m.checkpoint_items(), optimizer=lambda m: m.optimizer), tmp_path
    )


def test_fastcut_trains_under_jax(tmp_path):
    """FastCUT's flips and patch draws run in the stateless step; the heads learn (their weights move)."""
    data = _data(tmp_path)
    result = train(_config(tmp_path / "run", mode="fastcut"), data=data, verbose=0)
    assert result.epochs_done == 1 and set(result.history) == {"gen_loss", "disc_loss", "adv_loss", "nce_loss"}
    keras.utils.set_random_seed(0)
    fresh = build_cut(_config(tmp_path / "unused", mode="fastcut"))
    moved = [np.abs(a - b).max() for a, b in zip(result.model.heads.get_weights(), fresh.heads.get_weights())]
    assert min(moved) > 0


def test_data_parallel_step_equals_single_device_step():
    from replicas import check_data_parallel_step

    # Every position of these layers is a patch (num_patches >= h·w): no random choice to differ.
    config = {**TINY, "num_patches": 256, "nce_layers": ["down1", "down2", "res1_add"]}
    check_data_parallel_step("stx_tf.cut.model:build_cut", "stx_tf.cut.config:CUTConfig", config, NETS)


EXPORT_UNDER_TF = """
import sys, numpy as np
from stx_tf.cyclegan.train import load_generator
x = np.load(sys.argv[2])
np.save(sys.argv[3], np.asarray(load_generator(sys.argv[1])(x, training=False)))
print("OK")
"""


def test_a_jax_cut_run_exports_under_tensorflow(tmp_path):
    data = _data(tmp_path)
    result = train(_config(tmp_path / "run", samples=1), data=data, verbose=0)
    (tmp_path / "run" / "monet_generator.keras").unlink()  # the checkpoint's arrays only
    x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    ours = np.asarray(result.model.monet_generator(x, training=False))
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", EXPORT_UNDER_TF, str(tmp_path / "run"), str(tmp_path / "x.npy"),
         str(tmp_path / "tf.npy")],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "tf.npy"), ours, atol=1e-5)
