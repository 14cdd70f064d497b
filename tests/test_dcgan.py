"""DCGAN: model shapes, one training step, checkpoints and resume, sampling, bad input, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from contract import Painter, check_contract
from PIL import Image

from stx_tf.cli import main
from stx_tf.dcgan import (
    DCGAN,
    DCGANConfig,
    build_discriminator,
    build_generator,
    build_models,
    find_faces,
    interpolate,
    load_generator,
    sample,
    synthetic_faces,
)
from stx_tf.dcgan import train as train_run
from stx_tf.losses import bce_discriminator_loss

TINY_NETS = {"generator": {"filters": 8, "base_filters": 8}, "discriminator": {"filters": 8}}


def tiny_config(images, out_dir, **overrides) -> DCGANConfig:
    """A config small enough for a test: 32 px, latent 8, a few filters, batch 4."""
    values = dict(
        images=images,
        out_dir=out_dir,
        image_size=32,
        latent_dim=8,
        batch_size=4,
        epochs=1,
        grid_size=4,
        **TINY_NETS,
    )
    values.update(overrides)
    return DCGANConfig(**values)


def train(config, **kwargs):
    return train_run(config, verbose=0, **kwargs)


@pytest.fixture(scope="module")
def mixed_faces(tmp_path_factory):
    """8 synthetic faces saved with mixed sizes and modes (RGB/L/RGBA/P; JPEG/PNG/GIF)."""
    folder = tmp_path_factory.mktemp("faces")
    for i, face in enumerate(synthetic_faces(8, size=48, seed=1)):
        img = Image.fromarray(face)
        if i % 4 == 0:
            img.resize((60, 40)).save(folder / f"f{i}.jpg", quality=90)
        elif i % 4 == 1:
            img.convert("L").resize((33, 70)).save(folder / f"f{i}.png")
        elif i % 4 == 2:
            img.convert("RGBA").save(folder / f"f{i}.png")
        else:
            img.convert("P").resize((64, 64)).save(folder / f"f{i}.gif")
    return folder


@pytest.fixture(scope="module")
def run(mixed_faces, tmp_path_factory):
    """One epoch on the mixed folder, then a resume to epoch 2 (the second result is returned)."""
    out = tmp_path_factory.mktemp("run")
    first = train(tiny_config(mixed_faces, out, epochs=1))
    assert len(first.history["d_loss"]) == 1
    return train(tiny_config(mixed_faces, out, epochs=2))


@pytest.mark.parametrize("name", ["classic", "dcgan"])
def test_shapes_of_both_designs(name):
    gen, disc = build_models(name, latent_dim=12, generator={"filters": 8}, discriminator={"filters": 8})
    z = np.random.default_rng(0).standard_normal((2, 12)).astype("float32")
    images = keras.ops.convert_to_numpy(gen(z))
    assert images.shape == (2, 64, 64, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert tuple(disc(images).shape) == (2, 1)


def test_defaults_and_bad_names():
    assert build_generator("dcgan", filters=4).inputs[0].shape[-1] == 100
    with pytest.raises(ValueError, match="unknown DCGAN architecture"):
        build_discriminator("resnet")
    with pytest.raises(ValueError, match="unknown option.*base_filters"):
        build_generator("dcgan", base_filters=4)
    with pytest.raises(ValueError, match="multiple of 16"):
        build_generator("dcgan", image_size=40, filters=4)
    gen, disc = build_models("classic", latent_dim=8, image_size=32, **TINY_NETS)
    with pytest.raises(ValueError, match="latent_dim=9"):
        DCGAN(gen, disc, latent_dim=9)


def test_one_step_lowers_discriminator_loss():
    keras.utils.set_random_seed(0)
    gen, disc = build_models("classic", latent_dim=8, image_size=32, generator=TINY_NETS["generator"],
                             discriminator={"filters": 8, "dropout": 0.0})  # fmt: skip
    gan = DCGAN(gen, disc)
    gan.compile()
    real = np.asarray(synthetic_faces(16, size=32), np.float32) / 127.5 - 1.0
    fake = gen(np.random.default_rng(1).standard_normal((16, 8)).astype("float32"))

    def d_loss():
        return float(bce_discriminator_loss(disc(real), disc(fake)))

    before = d_loss()
    logs = gan.train_on_batch(real, return_dict=True)  # one call of DCGAN.train_step
    assert set(logs) == {"d_loss", "g_loss", "d_acc_real", "d_acc_fake"}
    assert d_loss() < before


def test_options_change_what_the_discriminator_sees():
    """DiffAugment and instance noise alter the discriminator's inputs in training only; one-sided label
    smoothing keeps the discriminator's loss away from zero even for perfectly judged images."""
    gen, disc = build_models("classic", latent_dim=8, image_size=32, **TINY_NETS)
    real = np.asarray(synthetic_faces(4, size=32), np.float32) / 127.5 - 1.0
    plain = np.asarray(disc(real, training=False))
    for options in ({"diff_augment": "color,translation,cutout"}, {"instance_noise": 0.5}):
        gan = DCGAN(gen, disc, **options)
        assert not np.allclose(np.asarray(gan._discriminate(real, training=True)), plain, atol=1e-4)
    np.testing.assert_allclose(np.asarray(DCGAN(gen, disc)._discriminate(real, training=False)), plain, atol=1e-6)
    from stx_tf.losses import bce_discriminator_loss_per_example as bce

    seen = []

    def d_loss(real_logits, fake_logits, smoothing):
        seen.append(smoothing)
        return bce(real_logits, fake_logits, smoothing)

    gan = DCGAN(gen, disc, label_smoothing=0.1)
    gan.compile(d_loss_fn=d_loss, run_eagerly=True)
    gan.train_on_batch(real)
    assert seen == [0.1]  # the step hands the smoothing to the discriminator's loss
    sure = np.full((4, 1), 20.0, np.float32)
    assert float(np.max(bce(sure, -sure, 0.0))) < 1e-6
    assert float(np.min(bce(sure, -sure, 0.1))) > 0.9  # target 0.9: 0.1 x 20 of the real logit stays (halved)


def test_config_errors():
    with pytest.raises(ValueError, match="precision"):
        DCGANConfig(images="x", precision="int8")
    with pytest.raises(ValueError, match="diff_augment|DiffAugment"):
        DCGAN(*build_models("classic", latent_dim=8, image_size=32, **TINY_NETS), diff_augment="colour")
    with pytest.raises(ValueError, match="architecture"):
        DCGANConfig(images="x", architecture="big")


def _contract_train(faces, run_dir, epochs, callbacks, budget):
    config = tiny_config(faces, run_dir, epochs=epochs, time_budget=budget, steps_per_execution=1,
                         diff_augment="color", precision="float32")
    return train(config, callbacks=callbacks)


def test_training_contract(mixed_faces, tmp_path):
    """Includes the NaN bug the DCGAN once had: a diverged run checkpointed NaN weights and resumed them."""
    check_contract(
        Painter(
            train=lambda *a: _contract_train(mixed_faces, *a),
            items=lambda m: m.checkpoint_items(),
            optimizer=lambda m: m.g_optimizer,
        ),
        tmp_path,
    )


def test_bfloat16_training(mixed_faces, tmp_path):
    """mixed_bfloat16: bf16 nets with float32 variables and losses; the global policy is left alone."""
    before = keras.mixed_precision.global_policy().name
    result = train(
        tiny_config(mixed_faces, tmp_path, precision="mixed_bfloat16", steps_per_execution=8, epochs=2)
    )
    assert keras.mixed_precision.global_policy().name == before
    gen, disc = result.model.generator, result.model.discriminator
    assert {layer.dtype_policy.name for layer in gen.layers[1:] + disc.layers[1:]} == {"mixed_bfloat16"}
    assert all(v.dtype == "float32" for v in gen.weights + disc.weights)
    assert int(result.model.g_optimizer.iterations.numpy()) == 4  # spe 8 lowered to the 2 steps per epoch
    assert result.model.steps_per_execution == 2
    assert all(np.isfinite(v).all() for v in result.history.values())
    saved = load_generator(result.generator_path)  # saved in float32, same weights
    assert {layer.dtype_policy.name for layer in saved.layers} == {"float32"}
    z = np.random.default_rng(0).standard_normal((2, 8)).astype("float32")
    ours = keras.ops.convert_to_numpy(keras.ops.cast(gen(z), "float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(saved(z)), ours, atol=0.05)
    resumed = train(tiny_config(mixed_faces, tmp_path, precision="float32", epochs=3))  # resume in float32
    assert len(resumed.history["d_loss"]) == 3


def test_checkpoint_and_resume(run):
    assert len(run.history["d_loss"]) == 2  # epoch 1 from the first call, epoch 2 after resuming
    assert run.run.initial_epoch == 1 and run.run.checkpoint.name == "epoch_0002"
    assert int(run.model.g_optimizer.iterations.numpy()) == 4  # 8 images / batch 4 = 2 steps per epoch, x 2
    assert [p.name for p in sorted((run.out_dir / "samples").iterdir())] == ["epoch_001.png", "epoch_002.png"]
    for path in (*run.run.curves, run.generator_path, run.interpolation):
        assert path.is_file()
    assert [p.name for p in run.run.curves] == ["loss_curves.png", "accuracy_curves.png"]
    assert not list(run.out_dir.rglob("*.partial*"))


def test_latent_mismatch_is_a_clear_error(run, mixed_faces):
    with pytest.raises(ValueError, match="incompatible checkpoint.*latent_dim=8 \\(asked for 16\\)"):
        train(tiny_config(mixed_faces, run.out_dir, latent_dim=16, epochs=3))
    with pytest.raises(ValueError, match="latent_dim=8, not 5"):
        load_generator(run.out_dir, latent_dim=5)


def test_folder_without_images(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no images"):
        train(tiny_config(empty, tmp_path / "out"))
    with pytest.raises(ValueError, match="no such folder"):
        find_faces(tmp_path / "missing")


def test_sample_to_folder_and_zip(run, tmp_path):
    gen = load_generator(run.out_dir)
    folder = sample(gen, 5, tmp_path / "samples", seed=3)
    files = sorted(folder.iterdir())
    assert [p.name for p in files] == [f"{i:05d}.png" for i in range(5)]
    assert Image.open(files[0]).size == (32, 32)
    archive = sample(gen, 3, tmp_path / "out" / "faces.zip", fmt="jpg")
    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist() == ["00000.jpg", "00001.jpg", "00002.jpg"]
    assert not list(tmp_path.rglob("*.partial"))
    grid = interpolate(gen, tmp_path / "interp.png", rows=2, steps=3)
    assert grid.shape == (6, 32, 32, 3) and (tmp_path / "interp.png").is_file()


def test_cli(run, mixed_faces, tmp_path, capsys):
    assert main(["dcgan", "sample", str(run.generator_path), "-n", "2", "-o", str(tmp_path / "s.zip")]) == 0
    assert zipfile.ZipFile(tmp_path / "s.zip").namelist() == ["00000.png", "00001.png"]
    assert main(["dcgan", "interpolate", str(run.out_dir), "-o", str(tmp_path / "i.png"), "--rows", "1"]) == 0
    assert (tmp_path / "i.png").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["dcgan", "train", "--images", str(empty), "--out-dir", str(tmp_path / "o"), "-q"]) == 2
    assert "no images" in capsys.readouterr().err
    args = [
        "dcgan",
        "train",
        "--images",
        str(mixed_faces),
        "--out-dir",
        str(tmp_path / "cli_run"),
        "--quiet",
        "--epochs",
        "1",
    ]
    args += [
        "--image-size",
        "32",
        "--latent-dim",
        "4",
        "--batch-size",
        "8",
        "--filters",
        "4",
        "--grid-size",
        "4",
        "--precision",
        "float32",
        "--steps-per-execution",
        "4",
    ]
    assert main(args) == 0
    assert (tmp_path / "cli_run" / "samples" / "epoch_001.png").is_file()
    saved = load_generator(tmp_path / "cli_run")
    assert saved.inputs[0].shape[-1] == 4 and saved.get_layer(index=1) is not None


MIRRORED_SCRIPT = """
import sys, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from stx_tf.dcgan import DCGANConfig, train, write_synthetic_faces
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
faces = write_synthetic_faces(sys.argv[1] + "/faces", n=16, size=32)
nets = {"filters": 4}
config = DCGANConfig(images=faces, out_dir=sys.argv[1] + "/run", image_size=32, latent_dim=4, batch_size=4,
                     epochs=1, grid_size=4, generator=nets, discriminator=nets)
result = train(config, strategy=strategy, verbose=0)
assert result.model.g_optimizer.iterations.numpy() == 2, "16 images / global batch 8"
assert 0.3 < result.history["d_loss"][0] < 1.2, result.history
print("OK", result.history)
"""


def test_trains_under_mirrored_strategy(tmp_path):
    """Two replicas on two logical CPUs (own process: logical devices must be set before TF starts)."""
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    proc = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-3000:]
