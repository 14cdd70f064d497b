"""stx_tf.cyclegan: nets, pool, schedule, the CycleGAN model, the training driver, replicas, the CLI."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from contract import Painter, check_contract

from stx_tf.configs import parse_duration
from stx_tf.cyclegan.config import CycleGANConfig
from stx_tf.cyclegan.model import METRICS, build_cyclegan
from stx_tf.cyclegan.nets import build_generator, resnet_generator, unet_generator
from stx_tf.cyclegan.train import load_generator, save_generator
from stx_tf.nn import ImagePool, StepSeed, patchgan_discriminator
from stx_tf.training.optimizers import FusedAdam
from stx_tf.training.schedule import LinearDecay

#: Tiny nets and images: every test here trains in seconds.
TINY = {"filters": 4, "res_blocks": 1, "disc_filters": 4, "image_size": 32}


def images(seed: int, n: int = 4, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32")


# ------------------------------------------------------------------------------------------- nets
@pytest.mark.parametrize("size", [32, 64])
def test_resnet_generator_keeps_shape_and_range(size):
    gen = resnet_generator(filters=4, res_blocks=2)
    out = np.asarray(gen(images(0, 2, size)))
    assert out.shape == (2, size, size, 3)
    assert out.min() >= -1 and out.max() <= 1
    assert sum("res" in layer.name and layer.name.endswith("_add") for layer in gen.layers) == 2


def test_resnet9_paper_size():
    """c7s1-64 … R256×9 … c7s1-3: about 11.4 M parameters, as in the paper's code."""
    assert resnet_generator().count_params() == pytest.approx(11.38e6, rel=0.01)


def test_unet_generator_shape_depth_and_dropout():
    gen = unet_generator(filters=4, image_size=64)  # 6 down-steps: 64 -> 1
    assert gen(images(1, 2, 64)).shape == (2, 64, 64, 3)
    assert (
        sum(
            layer.name.startswith("down") and "norm" not in layer.name and "lrelu" not in layer.name
            for layer in gen.layers
        )
        == 6
    )
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in gen.layers) == 1  # depth - 5


def test_build_generator_by_name_and_errors():
    assert build_generator("unet", filters=4, image_size=32, res_blocks=9).name == "unet_generator"
    with pytest.raises(ValueError, match="unknown generator"):
        build_generator("vgg")
    with pytest.raises(ValueError, match="norm"):
        resnet_generator(norm="layer")
    with pytest.raises(ValueError, match="power of two"):
        unet_generator(image_size=96)


def test_patchgan_output_and_receptive_field():
    disc = patchgan_discriminator(filters=4, norm="none")
    assert disc(np.zeros((1, 256, 256, 3), "float32")).shape == (1, 30, 30, 1)
    x = tf.Variable(np.random.default_rng(0).normal(size=(1, 128, 128, 3)).astype("float32"))
    with tf.GradientTape() as tape:
        centre = disc(x)[0, 7, 7, 0]
    seen = np.abs(tape.gradient(centre, x).numpy()[0]).sum(axis=-1) > 0
    rows, cols = np.where(seen.any(1))[0], np.where(seen.any(0))[0]
    assert np.ptp(rows) + 1 == 70 and np.ptp(cols) + 1 == 70  # one score judges a 70×70 patch


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
def test_norm_is_selectable(norm):
    gen = resnet_generator(filters=4, res_blocks=1, norm=norm)
    kinds = {type(layer).__name__ for layer in gen.layers}
    assert ("GroupNormalization" in kinds) == (norm == "instance")
    assert ("BatchNormalization" in kinds) == (norm == "batch")


def test_init_is_normal_002():
    kernel = resnet_generator(filters=64, res_blocks=1).get_layer("res1_conv1").kernel.numpy()
    assert abs(kernel.mean()) < 1e-3 and kernel.std() == pytest.approx(0.02, rel=0.05)


def test_generator_round_trip(tmp_path):
    gen = resnet_generator(filters=4, res_blocks=1)
    path = save_generator(gen, tmp_path / "g.keras")
    again = load_generator(path)
    x = images(2, 1)
    np.testing.assert_allclose(again(x), gen(x), atol=1e-6)
    with pytest.raises(ValueError, match="no such"):
        load_generator(tmp_path / "missing.keras")
    (tmp_path / "bad.keras").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a loadable"):
        load_generator(tmp_path / "bad.keras")


# ------------------------------------------------------------------------------------ pool, schedule
def test_pool_fills_then_swaps_inside_tf_function():
    pool, seed = ImagePool((2, 2, 1), pool_size=4), StepSeed(3)
    step = tf.function(lambda images: pool(images, seed=seed))
    batch = lambda v: tf.fill((2, 2, 2, 1), float(v))  # noqa: E731
    np.testing.assert_array_equal(step(batch(1)), batch(1))  # filling: images pass through
    np.testing.assert_array_equal(step(batch(2)), batch(2))
    assert int(pool.count) == 4 and sorted(pool.images.numpy()[:, 0, 0, 0]) == [1, 1, 2, 2]
    seen = set()
    for v in range(3, 40):
        out = step(batch(v)).numpy()[:, 0, 0, 0]
        assert all(o == v or o < v for o in out)  # the new image, or an older one from the pool
        seen.update(out.tolist())
        stored = pool.images.numpy()[:, 0, 0, 0]
        assert v in stored or set(out) == {v}  # a returned old image was replaced by the new one
    assert any(o < 39 for o in seen - {39}), "the full pool hands back older images"


def test_pool_disabled_and_no_gradient():
    pool = ImagePool((2, 2, 1), pool_size=0)
    x = tf.Variable(tf.ones((1, 2, 2, 1)))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(pool(x))
    assert tape.gradient(y, x) is None
    with pytest.raises(ValueError):
        ImagePool((2, 2, 1), pool_size=-1)


def test_linear_decay_schedule():
    sched = LinearDecay.for_epochs(2e-4, epochs=4, decay_epochs=2, steps_per_epoch=10)
    lr = lambda s: float(sched(s))  # noqa: E731
    assert lr(0) == lr(19) == pytest.approx(2e-4)
    assert lr(20) == pytest.approx(2e-4) and lr(30) == pytest.approx(1e-4) and lr(40) == 0 and lr(400) == 0
    again = LinearDecay.from_config(sched.get_config())
    assert float(again(25)) == pytest.approx(lr(25))
    assert float(LinearDecay(1e-3)(10_000)) == pytest.approx(1e-3)
    with pytest.raises(ValueError):
        LinearDecay.for_epochs(1e-3, epochs=2, decay_epochs=3, steps_per_epoch=1)


def test_fused_adam_is_keras_adam():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(50, 20)).astype("float32")
    grads = [rng.normal(size=start.shape).astype("float32") * (i + 1) for i in range(4)]
    results = []
    for cls in (keras.optimizers.Adam, FusedAdam):
        var = keras.Variable(start)
        opt = cls(LinearDecay(1e-2, 1, 4), beta_1=0.5)
        for g in grads:
            opt.apply_gradients([(tf.constant(g), var)])
        results.append(var.numpy())
    np.testing.assert_allclose(results[1], results[0], atol=1e-6)
    assert np.abs(results[0] - start).max() > 1e-3


def test_config_and_durations():
    assert parse_duration("2h50m") == 10_200 and parse_duration("90m") == 5400 and parse_duration(45) == 45
    assert parse_duration("1h 5m 30s") == 3930
    for bad in ("soon", "", "-5", "2x"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError, match="generator"):
        CycleGANConfig(generator="gan")
    with pytest.raises(ValueError, match="decay_epochs"):
        CycleGANConfig(epochs=2, decay_epochs=3)
    config = CycleGANConfig(**TINY).updated(epochs=150, decay_epochs=None)  # None: keep the default
    assert config.epochs == 150 and config.decay_epochs == 100 and config.lambda_cycle == 10


# ------------------------------------------------------------------- quick start, model, driver
@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The quick start in smoke mode (tiny nets, 32 px, 2 steps): its run folder, zip and trained model
    serve the model and driver tests below, so the suite traces a train step only a few times."""
    from stx_tf.cyclegan.quickstart import quickstart

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STX_SMOKE", "1")
        keras.utils.set_random_seed(0)
        return quickstart(tmp_path_factory.mktemp("quick"), verbose=0)


def test_quickstart_writes_a_checked_zip_and_a_preview(quick):
    from stx_tf.submission import check_submission

    with zipfile.ZipFile(quick.zip_path) as zf:
        names = zf.namelist()
    assert len(names) == len(set(names)) == 40 and quick.export.filled == 40 - quick.export.photos
    assert check_submission(quick.zip_path, min_count=40, max_count=40).ok
    assert quick.preview.is_file() and (quick.run_dir / "samples" / "epoch_001.png").is_file()
    assert (quick.run_dir / "loss_curves.png").is_file()
    assert (quick.run_dir / "monet_generator.keras").is_file()
    assert "images.zip" in quick.summary and not list(quick.zip_path.parent.glob("*.partial"))


def test_quickstart_training_bar_counts_every_step_of_every_epoch(capsys):
    from stx_tf.cyclegan.quickstart import training_bar

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse", steps_per_execution=2)
    bar = training_bar()
    x = np.zeros((12, 2), "float32")
    model.fit(x, x[:, :1], batch_size=2, epochs=2, verbose=0, callbacks=[bar])  # 6 steps per epoch
    assert bar.bar.total == 12 and bar.done == 12
    assert "12/12" in capsys.readouterr().err  # one line over both epochs, with its ETA


def test_train_step_lowers_losses(quick):
    model = quick.model
    steps_before = int(model.optimizer.iterations)
    photos = images(3, 4)
    monets = np.tanh(photos * 2.5) * 0.6  # a learnable "style": contrast and muted colours
    history = model.fit(
        tf.data.Dataset.from_tensors((photos, monets)).repeat(12), epochs=2, verbose=0
    ).history
    assert set(history) == set(METRICS)
    assert history["cycle_loss"][1] < history["cycle_loss"][0]
    assert history["monet_gen_loss"][1] < history["monet_gen_loss"][0]
    assert all(math.isfinite(v) for values in history.values() for v in values)
    assert int(model.optimizer.iterations) == steps_before + 24
    assert int(model.monet_pool.count) == 50  # the pool filled up


def test_losses_follow_the_paper_weights(quick):
    model = quick.model
    x, y = tf.constant(images(4, 2)), tf.constant(images(5, 2))
    assert model.lambda_identity == 0  # the quick start trains without the identity pass ...
    np.testing.assert_array_equal(model.compute_losses(x, y)["identity_loss"], 0.0)
    model.lambda_identity = 0.5  # ... the paper's weight (λ_id = 0.5 λ) on the same nets
    try:
        parts = model.compute_losses(x, y)
    finally:
        model.lambda_identity = 0.0
    g, f = model.monet_generator, model.photo_generator
    cycled, back = f(g(x, training=True), training=True), g(f(y, training=True), training=True)
    l1 = lambda a, b: np.abs(np.asarray(a) - np.asarray(b)).mean(axis=(1, 2, 3))  # noqa: E731
    np.testing.assert_allclose(parts["cycle_loss"], 10 * (l1(x, cycled) + l1(y, back)), rtol=1e-4)
    np.testing.assert_allclose(parts["identity_loss"], 5 * (l1(y, g(y)) + l1(x, f(x))), rtol=1e-4)


def test_compile_rejects_bad_options():
    model = build_cyclegan(CycleGANConfig(**TINY))
    with pytest.raises(ValueError, match="adversarial_loss"):
        model.compile(adversarial_loss="hinge")
    with pytest.raises(ValueError, match="label_smoothing"):
        model.compile(label_smoothing=0.7)
    with pytest.raises(ValueError, match="DiffAugment"):
        model.compile(diff_augment="colour")


def test_each_net_gets_the_gradient_of_its_own_loss(quick):
    """One objective, one gradient call: the generators' gradient is that of the generator losses alone
    (the discriminators frozen), the discriminators' that of their own losses (the fakes frozen)."""
    model = quick.model
    x, y = tf.constant(images(6, 2)), tf.constant(images(7, 2))
    gens = model.monet_generator.trainable_variables + model.photo_generator.trainable_variables
    discs = model.monet_discriminator.trainable_variables + model.photo_discriminator.trainable_variables

    def grads(key, variables, seed):
        model.step_seed.state.assign([seed, 0])  # same pool draws in every pass
        for pool in (model.monet_pool, model.photo_pool):
            pool.reset()
        with tf.GradientTape() as tape:
            if key is None:
                loss = model.objective((x, y))[0]
            else:
                loss = tf.reduce_mean(model.compute_losses(x, y)[key])
        return tape.gradient(loss, variables)

    combined_g, combined_d = grads(None, gens, 5), grads(None, discs, 5)
    own_g, own_d = grads("generators", gens, 5), grads("discriminators", discs, 5)
    for got, want in zip(combined_g + combined_d, own_g + own_d):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-7)
    cross = grads("discriminators", gens, 5)
    assert all(g is None or not np.any(np.asarray(g)) for g in cross), "fakes reach D's loss unfrozen"


def _contract_train(run_dir, epochs, callbacks, budget):
    from stx_tf.cyclegan.train import train
    from stx_tf.data import find_competition_data

    config = CycleGANConfig(
        **TINY, batch_size=2, steps_per_epoch=2, epochs=epochs, decay_epochs=0, samples=2,
        out_dir=str(run_dir), time_budget=budget, diff_augment="color,translation", precision="float32",
    )
    return train(config, data=find_competition_data(), callbacks=callbacks, verbose=0)


def test_training_contract(tmp_path):
    check_contract(
        Painter(train=_contract_train, items=lambda m: m.checkpoint_items(), optimizer=lambda m: m.optimizer),
        tmp_path,
    )


def test_resume_errors_and_load_from_checkpoint(quick, tmp_path):
    import shutil

    from stx_tf.cyclegan.train import train
    from stx_tf.data import find_competition_data
    from stx_tf.training import read_run

    run = shutil.copytree(quick.run_dir, tmp_path / "run")
    config = CycleGANConfig.from_dict(read_run(run)["config"]).updated(out_dir=str(run))
    data = find_competition_data()
    with pytest.raises(ValueError, match="already holds a run"):
        train(config.updated(resume=False), data=data, verbose=0)
    with pytest.raises(ValueError, match="incompatible checkpoint.*generator='resnet'"):
        train(config.updated(generator="unet"), data=data)
    with pytest.raises(ValueError, match="nothing to resume"):
        train(config.updated(out_dir=str(tmp_path / "empty"), resume=True), data=data)
    # Without the saved .keras file the generator comes from the newest checkpoint, same weights.
    kept = load_generator(run)
    (run / "monet_generator.keras").unlink()
    again = load_generator(run)
    np.testing.assert_array_equal(again(images(6, 1)), kept(images(6, 1)))


# ------------------------------------------------------------------------------------ distribution
MIRRORED_CHECK = """
import numpy as np, tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from stx_tf.cyclegan.config import CycleGANConfig
from stx_tf.cyclegan.model import build_cyclegan
config = CycleGANConfig(filters=4, res_blocks=1, disc_filters=4, image_size=32, adversarial_loss="bce")
rng = np.random.default_rng(0)
batch = tuple(rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32") for _ in range(2))
NETS = ("monet_generator", "photo_generator", "monet_discriminator", "photo_discriminator")

def one_step(strategy, start=None):
    with strategy.scope():
        model = build_cyclegan(config)
        # Plain SGD: a wrongly scaled gradient shows (Adam's first step would hide it).
        model.compile(keras.optimizers.SGD(0.5), adversarial_loss="bce", label_smoothing=0.1)
    for name in NETS:
        if start:
            getattr(model, name).set_weights(start[name])
    before = {name: getattr(model, name).get_weights() for name in NETS}
    logs = model.fit(tf.data.Dataset.from_tensors(batch), verbose=0).history
    return before, {name: getattr(model, name).get_weights() for name in NETS}, logs

mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert mirrored.num_replicas_in_sync == 2
start, single, single_logs = one_step(tf.distribute.get_strategy())
_, multi, multi_logs = one_step(mirrored, start)
worst, moved = 0.0, 0.0
for name in NETS:
    for a, b, s in zip(single[name], multi[name], start[name]):
        worst = max(worst, float(np.abs(a - b).max()))
        moved = max(moved, float(np.abs(a - s).max()))
assert moved > 1e-4, "the step changed the weights"
assert worst < 1e-5 * max(1.0, moved), (worst, moved)
for key, value in single_logs.items():
    np.testing.assert_allclose(multi_logs[key], value, rtol=1e-5)
print("OK", worst, moved)
"""


def test_mirrored_step_equals_single_device_step():
    """One step on a global batch of 4 split over 2 logical CPUs gives the single-device weights.

    Own process: logical devices must be configured before TensorFlow starts.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run(
        [sys.executable, "-c", MIRRORED_CHECK], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr[-3000:]


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_parses_the_commands():
    from stx_tf.cli import build_parser
    from stx_tf.cli.options import config_from_args

    args = build_parser().parse_args(["cyclegan", "quickstart", "--out-dir", "q", "--precision", "float32"])
    assert args.func.__name__ == "_quickstart" and args.out_dir == "q" and args.precision == "float32"
    args = build_parser().parse_args(
        ["cyclegan", "train", "--generator", "unet", "--time-budget", "2h50m", "--resume", "--no-flip",
         "--diff-augment", "none", "--unet-depth", "5"]
    )
    config = config_from_args(CycleGANConfig, args, CycleGANConfig(diff_augment="color"))
    assert config.generator == "unet" and config.resume is True and config.time_budget == "2h50m"
    assert config.flip is False and config.diff_augment is None and config.unet_depth == 5
    assert config.epochs == CycleGANConfig().epochs  # options left out keep the dataclass default
    help_text = build_parser()._subparsers._group_actions[0].choices["cyclegan"]  # noqa: SLF001
    train_help = help_text._subparsers._group_actions[0].choices["train"].format_help()  # noqa: SLF001
    assert "--lambda-cycle" in train_help and "(default: 10.0)" in train_help and "{resnet,unet}" in train_help


def test_cli_errors_are_clean(tmp_path, capsys):
    from stx_tf.cli import main

    assert main(["cyclegan", "train", "--out-dir", str(tmp_path / "none"), "--resume", "--filters", "4"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert main(["cyclegan", "train", "--time-budget", "soon", "--out-dir", str(tmp_path / "x")]) == 2
    assert "time budget" in capsys.readouterr().err


def test_make_datasets_skips_the_format_dispatch_only_for_all_jpeg(tmp_path, monkeypatch):
    from PIL import Image

    from stx_tf import data
    from stx_tf.cyclegan.train import make_datasets

    photos, monets = tmp_path / "photo", tmp_path / "monet"
    for folder, fmt in ((photos, "jpg"), (monets, "png")):
        folder.mkdir()
        for i in range(3):
            Image.fromarray((images(i, 1, 40)[0] * 127 + 128).astype("uint8")).save(folder / f"{i}.{fmt}")
    seen = []
    real = data.augmenter
    monkeypatch.setattr(data, "augmenter", lambda *a, **kw: seen.append(kw["jpeg_only"]) or real(*a, **kw))
    config = CycleGANConfig(**TINY, samples=1)
    for monet_source, expected in ((monets, False), (photos, True)):
        pairs, steps, sample_photos, _ = make_datasets(config, (photos, monet_source), 1)
        a, b = next(iter(pairs))
        assert steps == 3 and a.shape == b.shape == (1, 32, 32, 3) and sample_photos.shape == (1, 32, 32, 3)
        assert seen[-1] is expected


EXPORT_UNDER_JAX = """
import sys, numpy as np
from stx_tf.cyclegan.train import load_generator
x = np.load(sys.argv[2])
np.save(sys.argv[3], np.asarray(load_generator(sys.argv[1])(x, training=False)))
print("OK")
"""


def test_a_tensorflow_run_exports_under_jax(quick, tmp_path):
    """Checkpoints cross backends: the TF-trained quick-start run, loaded under JAX from its checkpoint
    arrays, paints the same pixels (the JAX suite checks the other direction)."""
    import shutil

    pytest.importorskip("jax")
    run = shutil.copytree(quick.run_dir, tmp_path / "run")
    (run / "monet_generator.keras").unlink()
    x = images(9, 2)
    np.save(tmp_path / "x.npy", x)
    ours = np.asarray(load_generator(run)(x, training=False))
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run(
        [sys.executable, "-c", EXPORT_UNDER_JAX, str(run), str(tmp_path / "x.npy"), str(tmp_path / "jax.npy")],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "jax.npy"), ours, atol=1e-5)


# ----------------------------------------------------------------------------- scoring during training
def test_as_kaggle_reads_is_the_pil_decoded_jpeg():
    import io

    from PIL import Image

    from stx_tf.submission.export import to_jpegs
    from stx_tf.training.scoring import as_kaggle_reads

    painted = images(11, 2, 64)  # painted at 64 px: resized to 256 like the export, then JPEG
    read = as_kaggle_reads(painted)
    assert read.shape == (2, 256, 256, 3)
    pil = np.asarray(Image.open(io.BytesIO(to_jpegs(painted, 95, 256)[1])).convert("RGB"))
    np.testing.assert_allclose(read[1], pil / 127.5 - 1.0, atol=1e-6)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A tiny run scored after every epoch (SqueezeNet proxy with random weights in smoke mode)."""
    from stx_tf.cyclegan.train import train
    from stx_tf.data import find_competition_data

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STX_SMOKE", "1")
        mp.delenv("STX_FID_INCEPTION_WEIGHTS", raising=False)
        config = CycleGANConfig(
            **TINY, batch_size=2, steps_per_epoch=2, epochs=3, decay_epochs=1, samples=1, score_every=1,
            score_photos=6, out_dir=str(tmp_path_factory.mktemp("scored") / "run"), precision="float32",
        )
        return train(config, data=find_competition_data(allow_sample=True), verbose=0), config


def test_scoring_during_training_keeps_the_best_epoch(scored):
    from stx_tf.cyclegan.train import generator_source, load_generator
    from stx_tf.training import load_arrays, read_run

    result, config = scored
    history = result.history
    assert len(history["mifid"]) == 3 and all(np.isfinite(history["mifid"]))
    assert history["mifid"] == history["fid"] or all(m >= f for m, f in zip(history["mifid"], history["fid"]))
    best_epoch = int(np.argmin(history["mifid"])) + 1
    saved = read_run(result.out_dir)
    assert saved["best"] == {"epoch": best_epoch, "metric": "mifid", "score": min(history["mifid"])}
    assert (result.out_dir / "score_curves.png").stat().st_size > 1000
    source, said = generator_source(result.out_dir)
    assert source.name == "best" and f"best epoch {best_epoch}" in said
    best = load_generator(result.out_dir)  # export's default: the best epoch
    for got, want in zip(best.get_weights(), load_arrays(source, "monet_generator")):
        np.testing.assert_array_equal(got, want)
    last = load_generator(result.out_dir, "last")
    assert "last epoch" in generator_source(result.out_dir, "last")[1]
    assert best_epoch == 3 or any(not np.array_equal(a, b) for a, b in zip(best.get_weights(), last.get_weights()))


def test_resume_keeps_the_best_score(scored, tmp_path):
    import shutil

    from stx_tf.cyclegan.train import train
    from stx_tf.data import find_competition_data
    from stx_tf.training import read_run

    result, config = scored
    run = shutil.copytree(result.out_dir, tmp_path / "run")
    before = read_run(run)["best"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STX_SMOKE", "1")
        resumed = train(config.updated(out_dir=str(run), epochs=4), data=find_competition_data(allow_sample=True),
                        verbose=0)
    after = read_run(run)["best"]
    assert resumed.run.initial_epoch == 3 and len(resumed.history["mifid"]) == 4
    assert after["score"] == min(resumed.history["mifid"]) and after["score"] <= before["score"]
    assert after["epoch"] in (before["epoch"], 4)


def test_scoring_config_errors():
    with pytest.raises(ValueError, match="restart_from_best needs scoring"):
        CycleGANConfig(restart_from_best=2)
    with pytest.raises(ValueError, match="score_every"):
        CycleGANConfig(score_every=-1)
