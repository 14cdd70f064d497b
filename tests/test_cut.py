"""stx_tf.cut: config and modes, the encoder views and MLP heads, patch sampling, the CUT model's losses and
gradients, the training driver (contract, resume, export), replicas, the planner and the CLI."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from contract import Painter, check_contract

from stx_tf.cut.config import NCE_LAYERS, CUTConfig
from stx_tf.cut.model import CUT, NETS, build_cut, flip_where
from stx_tf.cut.nets import PatchHeads, feature_model, gather_patches, nce_layer_names, sample_patch_ids
from stx_tf.cyclegan.nets import resnet_generator
from stx_tf.nn import StepSeed

#: Tiny nets and images: every test here trains in seconds.
TINY = {"filters": 4, "res_blocks": 2, "disc_filters": 4, "image_size": 32, "num_patches": 16,
        "head_units": 8}


def images(seed: int, n: int = 2, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32")


def tiny_model(**changes) -> CUT:
    keras.utils.set_random_seed(0)
    model = build_cut(CUTConfig(**{**TINY, **changes}))
    model.compile()
    return model


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """12 photos and 6 paintings (40 px JPEG folders)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("cut_data")
    rng = np.random.default_rng(0)
    folders = []
    for name, n in (("photo", 12), ("monet", 6)):
        (root / name).mkdir()
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(root / name / f"{i}.jpg")
        folders.append(str(root / name))
    return tuple(folders)


# -------------------------------------------------------------------------------------------- config
def test_modes_set_the_paper_loss_settings():
    assert CUTConfig().loss_settings() == {"lambda_nce": 1.0, "nce_idt": True, "flip_equivariance": False}
    fast = CUTConfig(mode="fastcut")
    assert fast.loss_settings() == {"lambda_nce": 10.0, "nce_idt": False, "flip_equivariance": True}
    assert fast.updated(lambda_nce=3.0).loss_settings()["lambda_nce"] == 3.0  # an explicit value wins
    assert CUTConfig(mode="fastcut", nce_idt=True).loss_settings()["nce_idt"] is True
    assert CUTConfig().updated(mode="fastcut").loss_settings()["lambda_nce"] == 10.0  # None follows the mode
    config = CUTConfig()
    assert config.nce_layers == NCE_LAYERS and config.num_patches == 256 and config.nce_temperature == 0.07
    assert config.pool_size == 0 and config.adversarial_loss == "lsgan"
    assert CUTConfig.from_dict(config.to_dict()) == config  # JSON lists back to tuples
    for bad in ({"mode": "cyclecut"}, {"nce_temperature": 0}, {"nce_layers": ()}, {"lambda_nce": -1.0},
                {"num_patches": 0}, {"image_size": 30}, {"diff_augment": "colour"}):
        with pytest.raises(ValueError):
            CUTConfig(**bad)


# ------------------------------------------------------------------------------------- encoder, heads
def test_nce_layers_are_the_generators_own():
    gen = resnet_generator(filters=4, res_blocks=2)
    assert nce_layer_names(gen, NCE_LAYERS) == ["c7_pad", "down1", "down2", "res1_add", "res2_add"]
    assert nce_layer_names(resnet_generator(4, 1), NCE_LAYERS)[-1] == "res1_add"  # res5 -> the last, once
    assert len(nce_layer_names(resnet_generator(4, 1), NCE_LAYERS)) == 4
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        nce_layer_names(gen, ["down1", "conv9"])
    both = feature_model(gen, ["c7_pad", "down1", "res2_add"], with_image=True)
    x = images(0, 1)
    image, pad, down1, res2 = both(x)
    np.testing.assert_allclose(image, gen(x), atol=1e-6)  # one pass translates and encodes
    assert pad.shape == (1, 38, 38, 3) and down1.shape == (1, 16, 16, 8) and res2.shape == (1, 8, 8, 16)
    np.testing.assert_allclose(pad[0, 3:-3, 3:-3], x[0], atol=1e-6)  # layer 0: the (padded) input itself
    assert {id(v) for v in both.weights} <= {id(v) for v in gen.weights}  # shared weights, no copy


def test_heads_are_created_on_first_call_and_project_to_the_unit_sphere():
    heads = PatchHeads(8)
    assert not heads.built and not heads.weights
    out = heads([np.ones((2, 5, 3), "float32"), np.ones((2, 5, 16), "float32")])
    assert heads.built and len(heads.mlps) == 2
    assert [tuple(mlp[0].kernel.shape) for mlp in heads.mlps] == [(3, 8), (16, 8)]
    assert [o.shape for o in out] == [(2, 5, 8), (2, 5, 8)]
    np.testing.assert_allclose(np.linalg.norm(np.asarray(out[1]), axis=-1), 1.0, atol=1e-3)  # ‖x‖/(‖x‖+1e-7)
    with pytest.raises(ValueError, match="built for 2 layers"):
        heads([np.ones((2, 5, 3), "float32")])


def test_cut_builds_its_heads_from_the_encoder_shapes_before_any_step():
    model = tiny_model()
    assert model.heads.built and [tuple(m[0].kernel.shape) for m in model.heads.mlps] == [
        (3, 8), (8, 8), (16, 8), (16, 8), (16, 8)
    ]
    trainable = {id(v) for v in model.trainable_variables}
    assert {id(v) for v in model.heads.trainable_variables} <= trainable
    assert len(model.heads.trainable_variables) == 5 * 4
    nets = (model.monet_generator, model.monet_discriminator, model.heads)
    n = sum(len(net.trainable_variables) for net in nets)
    assert len(model.trainable_variables) == n  # each variable once, the encoder views add none
    assert model.optimizer.built and int(model.optimizer.iterations) == 0


# ------------------------------------------------------------------------------------- patch sampling
def test_patch_ids_are_distinct_seeded_and_all_when_few():
    seed = StepSeed(7)
    ids = np.asarray(sample_patch_ids(100, 16, seed))
    assert ids.shape == (16,) and len(set(ids.tolist())) == 16 and ids.min() >= 0 and ids.max() < 100
    assert not np.array_equal(ids, np.asarray(sample_patch_ids(100, 16, seed)))  # the seed moves on
    same = np.asarray(sample_patch_ids(100, 16, StepSeed(7)))
    np.testing.assert_array_equal(ids, same)
    np.testing.assert_array_equal(sample_patch_ids(9, 16, seed), np.arange(9))
    feats = np.arange(2 * 3 * 4 * 5, dtype="float32").reshape(2, 3, 4, 5)
    picked = np.asarray(gather_patches(feats, np.array([0, 5, 11])))
    np.testing.assert_array_equal(picked[1, 1], feats[1, 1, 1])  # position 5 = row 1, column 1


def test_queries_and_keys_share_the_patch_positions():
    """The model's PatchNCE draws one set of positions per layer for the generated image and its input:
    with the generator's input as its own "generated" image, every query equals its key."""
    model = tiny_model(num_patches=8)
    x = tf.constant(images(1))
    keys = model.encoder(x, training=True)
    model.step_seed.state.assign([3, 0])
    shared = np.asarray(model.patch_nce(keys, x))
    model.step_seed.state.assign([3, 0])
    by_hand = []
    for k in keys:
        ids = sample_patch_ids(k.shape[1] * k.shape[2], 8, model.step_seed)
        by_hand.append(gather_patches(k, ids))
    projected = model.heads(by_hand)
    from stx_tf.losses import patch_nce_loss_per_example

    expected = np.mean([patch_nce_loss_per_example(p, p, 0.07) for p in projected], axis=0)
    np.testing.assert_allclose(shared, expected, rtol=1e-5)
    mismatched = np.mean([patch_nce_loss_per_example(p[:, ::-1], p, 0.07) for p in projected], axis=0)
    assert np.all(shared < mismatched)


def test_fastcut_flips_the_inputs_and_the_query_features_back():
    x = images(2)
    mask = np.array([True, False])
    flipped = np.asarray(flip_where(mask, x))
    np.testing.assert_array_equal(flipped[0], x[0, :, ::-1])
    np.testing.assert_array_equal(flipped[1], x[1])
    model = tiny_model(mode="fastcut")
    assert model.flip_equivariance and not model.nce_idt and model.lambda_nce == 10
    assert "nce_identity_loss" not in model.trackers
    parts = model.compute_losses(tf.constant(x), tf.constant(images(3)))
    assert parts["nce_loss"].shape == (2,)
    np.testing.assert_allclose(parts["gen_loss"], parts["adv_loss"] + parts["nce_loss"], rtol=1e-6)


# ------------------------------------------------------------------------------------------ the model
def test_losses_follow_the_paper_weights():
    model = tiny_model()
    x, y = tf.constant(images(4)), tf.constant(images(5))
    parts = model.compute_losses(x, y)
    assert set(parts) == {"gen_loss", "disc_loss", "adv_loss", "nce_loss", "nce_identity_loss",
                          "generators", "discriminators"}
    nce = 0.5 * (parts["nce_loss"] + parts["nce_identity_loss"])  # CUT: the mean of both NCE terms
    np.testing.assert_allclose(parts["gen_loss"], parts["adv_loss"] + nce, rtol=1e-6)
    fake = model.monet_generator(x, training=True)
    d = model.monet_discriminator
    lsgan_g = np.mean((np.asarray(d(fake, training=True)) - 1) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(parts["adv_loss"], lsgan_g, rtol=1e-4)
    mean = lambda a: np.mean(np.asarray(a), axis=(1, 2, 3))  # noqa: E731
    lsgan_d = 0.5 * (mean((np.asarray(d(y)) - 1) ** 2) + mean(np.asarray(d(fake)) ** 2))
    np.testing.assert_allclose(parts["disc_loss"], lsgan_d, rtol=1e-4)


def test_compile_rejects_bad_options():
    model = build_cut(CUTConfig(**TINY))
    with pytest.raises(ValueError, match="adversarial_loss"):
        model.compile(adversarial_loss="hinge")
    with pytest.raises(ValueError, match="label_smoothing"):
        model.compile(label_smoothing=0.7)
    with pytest.raises(ValueError, match="DiffAugment"):
        model.compile(diff_augment="colour")
    gen = resnet_generator(4, 1)
    with pytest.raises(ValueError, match="num_patches"):
        CUT(gen, gen, num_patches=0)


def test_each_net_gets_the_gradient_of_its_own_loss():
    """One objective, one gradient call: G and the heads get the gradient of the generator loss alone (D
    frozen), D that of its own loss (the fakes frozen); the heads learn from PatchNCE only."""
    model = tiny_model(diff_augment="color,translation")
    x, y = tf.constant(images(6)), tf.constant(images(7))
    gen = model.monet_generator.trainable_variables + model.heads.trainable_variables
    disc = model.monet_discriminator.trainable_variables

    def grads(key, variables):
        model.step_seed.state.assign([5, 0])  # same patches and augmentations in every pass
        with tf.GradientTape() as tape:
            if key is None:
                loss = model.objective((x, y))[0]
            else:
                loss = tf.reduce_mean(model.compute_losses(x, y)[key])
        return tape.gradient(loss, variables)

    combined = grads(None, gen) + grads(None, disc)
    for got, want in zip(combined, grads("generators", gen) + grads("discriminators", disc)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-7)
    cross = grads("discriminators", gen)
    assert all(g is None or not np.any(np.asarray(g)) for g in cross), "fakes reach D's loss unfrozen"
    heads_from_adv = grads("adv_loss", model.heads.trainable_variables)
    assert all(g is None or not np.any(np.asarray(g)) for g in heads_from_adv)
    heads_from_nce = grads("nce_loss", model.heads.trainable_variables)
    assert all(np.any(np.asarray(g)) for g in heads_from_nce)


def test_train_step_lowers_the_losses():
    model = tiny_model()
    photos = images(8, 4)
    monets = np.tanh(photos * 2.5) * 0.6  # a learnable "style": contrast and muted colours
    batches = tf.data.Dataset.from_tensors((photos, monets)).repeat(12)
    history = model.fit(batches, epochs=2, verbose=0).history
    assert set(history) == {"gen_loss", "disc_loss", "adv_loss", "nce_loss", "nce_identity_loss"}
    assert history["nce_loss"][1] < history["nce_loss"][0]
    assert history["gen_loss"][1] < history["gen_loss"][0]
    assert all(math.isfinite(v) for values in history.values() for v in values)
    assert int(model.optimizer.iterations) == 24


def test_mixed_bfloat16_step_is_finite():
    from stx_tf import precision

    with precision.policy_scope("mixed_bfloat16"):
        model = tiny_model()
    assert model.monet_generator.get_layer("down1").compute_dtype == "bfloat16"
    assert model.heads.mlps[0][0].compute_dtype == "bfloat16"
    history = model.fit(tf.data.Dataset.from_tensors((images(9), images(10))).repeat(2), verbose=0).history
    assert all(math.isfinite(v[0]) for v in history.values())


# ------------------------------------------------------------------------------------------ the driver
def _config(run_dir, **changes):
    values = dict(TINY, batch_size=2, steps_per_epoch=2, epochs=1, decay_epochs=0, samples=2,
                  out_dir=str(run_dir), precision="float32")
    return CUTConfig(**{**values, **changes})


def test_training_contract(tmp_path, data):
    from stx_tf.cut.train import train

    def run(run_dir, epochs, callbacks, budget):
        config = _config(run_dir, epochs=epochs, time_budget=budget, diff_augment="color,translation")
        return train(config, data=data, callbacks=callbacks, verbose=0)

    check_contract(
        Painter(train=run, items=lambda m: m.checkpoint_items(), optimizer=lambda m: m.optimizer), tmp_path
    )


class _FakeScore(keras.callbacks.Callback):
    """Puts a "mifid" into the epoch logs (as the scoring callback does): lowest at epoch 2."""

    def on_epoch_end(self, epoch, logs=None):
        logs["mifid"] = [50.0, 40.0, 45.0][epoch]


def test_best_checkpoint_resume_errors_and_export(tmp_path, data):
    from stx_tf.cut.train import train
    from stx_tf.cyclegan.train import load_generator
    from stx_tf.submission import check_submission, export_submission
    from stx_tf.training import load_arrays, read_run

    run = tmp_path / "run"
    config = _config(run, epochs=3, mode="fastcut")
    result = train(config, data=data, callbacks=[_FakeScore()], best_key="mifid", verbose=0)
    assert result.epochs_done == 3 and result.run.best == {"epoch": 2, "metric": "mifid", "score": 40.0}
    assert (run / "checkpoints" / "best" / "state.npz").is_file()
    assert read_run(run)["kind"] == "cut" and "nce_identity_loss" not in result.history
    assert result.samples[-1].is_file() and result.generator_path.name == "monet_generator.keras"
    with pytest.raises(ValueError, match="already holds a run"):
        train(_config(run, resume=False), data=data, verbose=0)
    with pytest.raises(ValueError, match="incompatible checkpoint.*head_units=8"):
        train(_config(run, head_units=16), data=data, verbose=0)
    from stx_tf.cyclegan.config import CycleGANConfig
    from stx_tf.cyclegan.train import train as train_cyclegan

    with pytest.raises(ValueError, match="holds a cut run"):
        cyclegan = CycleGANConfig(filters=4, res_blocks=1, disc_filters=4, image_size=32, out_dir=str(run))
        train_cyclegan(cyclegan, data=data, verbose=0)
    # Export reads a CUT run like a CycleGAN one: the best epoch by default; the last one as the saved
    # generator or, without it, the newest checkpoint's arrays.
    x = images(11, 2)
    ours = np.asarray(result.model.monet_generator(x, training=False))
    np.testing.assert_allclose(load_generator(result.generator_path)(x), ours, atol=1e-5)
    np.testing.assert_allclose(load_generator(run, "last")(x), ours, atol=1e-5)
    best = load_generator(run)
    for got, want in zip(best.get_weights(), load_arrays(run / "checkpoints" / "best", "monet_generator")):
        np.testing.assert_array_equal(got, want)
    assert not np.allclose(best(x), ours, atol=1e-5)  # epoch 2, not the last
    (run / "monet_generator.keras").unlink()
    np.testing.assert_allclose(load_generator(run, "last")(x), ours, atol=1e-5)
    report = export_submission(load_generator(run), data[0], tmp_path / "images.zip", fill_to=20,
                               min_count=20, max_count=20, batch_size=8)
    assert check_submission(report.path, min_count=20, max_count=20).ok


def test_scoring_during_training_keeps_the_best_epoch(tmp_path, data, monkeypatch):
    """``score_every`` scores MiFID as CycleGAN does (here the SqueezeNet proxy with random weights, smoke
    mode): the scores go into the history and ``score_curves.png``, the best epoch into ``checkpoints/best``."""
    from stx_tf.cut.train import train
    from stx_tf.training import read_run

    monkeypatch.setenv("STX_SMOKE", "1")
    monkeypatch.delenv("STX_FID_INCEPTION_WEIGHTS", raising=False)
    seen = []
    marker = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append("mifid" in logs))
    config = _config(tmp_path / "run", epochs=2, score_every=1, score_photos=6)
    result = train(config, data=data, callbacks=[marker], verbose=0)
    scores = result.history["mifid"]
    assert len(scores) == 2 and all(np.isfinite(scores)) and seen == [True, True]  # user callbacks see them
    assert read_run(tmp_path / "run")["best"] == {"epoch": int(np.argmin(scores)) + 1, "metric": "mifid",
                                                  "score": min(scores)}
    assert (tmp_path / "run" / "score_curves.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="restart_from_best needs scoring"):
        CUTConfig(restart_from_best=2)


def test_planner_measures_cut(data):
    from stx_tf.cut.train import plan

    config = _config("unused", epochs=4, decay_epochs=2, steps_per_epoch=None)
    made = plan(config, data, limit="1h", reserve=0, elapsed=0.0, export_images=16, export_batch=8)
    assert made.steps_per_epoch == 6 and made.step_seconds > 0 and made.epochs == 4
    planned = made.apply(config)
    assert planned.epochs == 4 and planned.time_budget is not None and isinstance(planned, CUTConfig)


# ------------------------------------------------------------------------------------------ replicas
#: Every position of these layers is a patch (num_patches >= h·w): no random choice differs between replicas.
REPLICA_CONFIG = {"filters": 4, "res_blocks": 1, "disc_filters": 4, "image_size": 32, "num_patches": 256,
                  "head_units": 8, "nce_layers": ["down1", "down2", "res1_add"]}


def test_mirrored_step_equals_single_device_step():
    """One step on a global batch of 4 split over 2 logical CPUs gives the single-device weights (G, D and
    the heads) and losses."""
    from replicas import check_mirrored_step

    check_mirrored_step("stx_tf.cut.model:build_cut", "stx_tf.cut.config:CUTConfig", REPLICA_CONFIG, NETS)


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_parses_and_forwards_export(tmp_path, data, capsys):
    from stx_tf.cli import build_parser, main
    from stx_tf.cli.options import config_from_args

    args = build_parser().parse_args(
        ["cut", "train", "--mode", "fastcut", "--lambda-nce", "none", "--num-patches", "64",
         "--nce-layers", "down1", "down2", "--time-budget", "2h", "--no-flip"]
    )
    config = config_from_args(CUTConfig, args, CUTConfig(lambda_nce=2.0))
    assert config.mode == "fastcut" and config.lambda_nce is None
    assert config.loss_settings()["lambda_nce"] == 10
    assert config.nce_layers == ("down1", "down2") and config.num_patches == 64 and config.flip is False
    assert config.epochs == CUTConfig().epochs
    assert main(["cut", "train", "--out-dir", str(tmp_path / "none"), "--resume", "--filters", "4"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    # `stx cut export` is `stx cyclegan export` with the same options: here it gets as far as counting the
    # 12 photos given by --photos (7,000 needed; the export itself is tested above).
    from stx_tf.cyclegan.train import save_generator

    generator = save_generator(resnet_generator(4, 1), tmp_path / "g.keras")
    argv = ["cut", "export", str(generator), "--photos", data[0], "--out", str(tmp_path / "x.zip"),
            "--no-check"]
    assert build_parser().parse_args(argv).options == argv[3:]
    assert main(argv) == 2
    assert f"{data[0]}: only 12 photos" in capsys.readouterr().err
