"""stx_tf.nst and ``stx stylize``: tiny images, random backbone weights, a few steps."""

from __future__ import annotations

import dataclasses
import logging

import keras
import numpy as np
import pytest
from PIL import Image

from stx_tf import backbones, losses, nst
from stx_tf.cli import main
from stx_tf.data.imageops import resize, rgb_to_yiq
from stx_tf.nst.procedure import _Level, _load

TINY = {"backbone": "squeezenet", "weights": None, "max_dim": 48, "epochs": 2, "steps_per_epoch": 3, "verbose": 0}


@pytest.fixture()
def pair(rgb_factory):
    return rgb_factory(1, 64), rgb_factory(2, 56)


@pytest.fixture()
def files(tmp_path, rgb_factory):
    c, s = tmp_path / "content.png", tmp_path / "style.jpg"
    Image.fromarray(rgb_factory(3, 64)).save(c)
    Image.fromarray(rgb_factory(4, 64)).save(s, quality=90)
    return c, s


def test_adam_run_shapes_history_frames(pair):
    content, style = pair
    result = nst.stylize(content, style, **TINY)
    assert result.image.shape == (48, 48, 3) and result.image.dtype == np.float32
    assert 0.0 <= result.image.min() and result.image.max() <= 1.0
    assert len(result.history) == result.steps == 6
    assert len(result.frames) == len(result.epoch_losses) == 2 and result.frames[0].dtype == np.uint8
    assert result.epoch_losses[-1] < result.history[0]
    assert not result.stopped_early


def test_lbfgs_multiscale_lowers_the_loss(pair):
    content, style = pair
    result = nst.stylize(
        content,
        style,
        **{**TINY, "max_dim": 64, "epochs": 1, "steps_per_epoch": 4},
        optimizer="lbfgs",
        lbfgs_memory=2,
        multiscale=2,
        init="noise",
    )
    assert result.image.shape == (64, 64, 3)
    assert len(result.history) == 2 + 4  # coarse scale: half of epochs*steps
    assert result.epoch_losses[-1] < result.history[2]  # full-scale start


def test_objective_matches_loss_definition(pair):
    content, style = pair
    cfg = nst.StylizeConfig(**{k: v for k, v in TINY.items() if k != "verbose"}, tv_weight=0.5).resolved()
    c, s = resize(content.astype(np.float32) / 255, 48, 48), style.astype(np.float32) / 255
    extractor = nst.extractor(cfg)
    objective = nst.StyleObjective(extractor, c, [s, s[::-1]], cfg, style_image_weights=[3, 1])
    x = np.random.default_rng(0).uniform(size=(1, 48, 48, 3)).astype(np.float32)
    feats, fc = extractor(x), extractor(c[None])
    g1, g2 = extractor(s[None]), extractor(s[::-1][None])
    style_ref = 0.0
    for k, w in zip(cfg.style_layers, cfg.style_layer_weights):
        target = 0.75 * losses.gram_matrix(g1[k], "paper") + 0.25 * losses.gram_matrix(g2[k], "paper")
        style_ref += w * np.sum((np.asarray(losses.gram_matrix(feats[k], "paper")) - np.asarray(target)) ** 2)
    content_ref = sum(
        0.5 * np.sum((np.asarray(feats[k]) - np.asarray(fc[k])) ** 2) for k in cfg.content_layers
    )
    tv_ref = np.abs(np.diff(x, axis=1)).sum() + np.abs(np.diff(x, axis=2)).sum()
    expected = cfg.style_weight * (style_ref + cfg.content_weight * content_ref) + 0.5 * tv_ref
    np.testing.assert_allclose(float(objective(x)), expected, rtol=1e-4)


def test_style_strength_zero_keeps_the_photo(pair):
    content, style = pair
    result = nst.stylize(
        content,
        style,
        **{**TINY, "epochs": 1, "steps_per_epoch": 2},
        style_strength=0.0,
        tv_weight=0.0,
        precision="float32",  # history holds the step losses: exact only with float32 steps
    )
    assert result.history[0] == pytest.approx(0.0, abs=1e-3)  # content init, own Grams: nothing to do


def test_preserve_color_keeps_chrominance_and_several_styles(pair, rgb_factory):
    content, style = pair
    result = nst.stylize(
        content, [style, rgb_factory(5, 40)], **TINY, preserve_color=True, style_weights=[2, 1], init="style"
    )
    from stx_tf.data import load_image

    c = load_image(content, max_dim=48)
    chroma_in, chroma_out = rgb_to_yiq(c)[..., 1:], rgb_to_yiq(result.image)[..., 1:]
    assert np.median(np.abs(chroma_in - chroma_out)) < 1e-4  # equal except where RGB clips
    with pytest.raises(ValueError, match="style_weights"):
        nst.stylize(content, [style, style], **TINY, style_weights=[1])


def test_callbacks_frames_gif_and_early_stop(pair, tmp_path):
    content, style = pair
    saver = nst.FrameSaver(folder=tmp_path / "frames", gif=tmp_path / "run.gif")
    seen = []
    result = nst.stylize(
        content, style, **{**TINY, "epochs": 3}, callbacks=[saver, lambda e, img, loss: seen.append(e)]
    )
    assert [p.name for p in saver.paths] == ["epoch_001.png", "epoch_002.png", "epoch_003.png"]
    assert Image.open(tmp_path / "run.gif").n_frames == 3 and seen == [1, 2, 3]
    stopped = nst.stylize(content, style, **{**TINY, "epochs": 5}, callbacks=[nst.StopAtLoss(float("inf"))])
    assert stopped.stopped_early and len(stopped.frames) == 1 and result.steps == 9


def test_nan_loss_stops_with_a_message(pair):
    content, style = pair
    with pytest.raises(nst.LossDivergedError, match="became nan at step 1") as err:
        nst.stylize(content, style, **TINY, content_weight=float("nan"))
    assert err.value.image.shape == (48, 48, 3)


def test_bad_inputs(tmp_path, pair, rgb_factory):
    content, style = pair
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="notes.jpg"):
        nst.stylize(text, style, **TINY)
    with pytest.raises(ValueError, match="too small"):
        nst.stylize(content, rgb_factory(6, 16), **TINY)
    with pytest.raises(ValueError, match="optimizer"):
        nst.stylize(content, style, **TINY, optimizer="sgd")
    gray, rgba = tmp_path / "gray.png", tmp_path / "rgba.png"
    Image.fromarray(rgb_factory(7, 100)[..., 0]).save(gray)  # 'L' mode, downscaled 100 -> 48
    Image.fromarray(np.dstack([rgb_factory(8, 64), np.full((64, 64), 128, np.uint8)])).save(rgba)
    records, handler, logger = [], logging.Handler(), logging.getLogger("stx_tf")
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        result = nst.stylize(gray, rgba, **{**TINY, "epochs": 1, "steps_per_epoch": 1})
    finally:
        logger.removeHandler(handler)
    assert result.image.shape == (48, 48, 3)
    assert any("gray.png: 100x100 downscaled to 48x48" in r.getMessage() for r in records)


def test_vgg19_random_and_local_weights(pair, tmp_path):
    import keras

    content, style = pair
    path = tmp_path / "vgg19_notop.weights.h5"
    keras.applications.VGG19(include_top=False, weights=None).save_weights(path)
    for weights in (None, path):
        result = nst.stylize(
            content, style, **{**TINY, "backbone": "vgg19", "weights": weights, "max_dim": 32}
        )
        assert result.image.shape == (32, 32, 3) and np.isfinite(result.final_loss)


def test_content_weight_sweep_trades_content_for_style(pair, tmp_path):
    """λ weights the content term: the larger one ends nearer the photo's features, farther from the style."""
    content, style = pair
    images = nst.content_weight_sweep(content, style, (1e-3, 1e2), path=tmp_path / "lambda.png", **TINY)
    cfg = nst.StylizeConfig(**{k: v for k, v in TINY.items() if k != "verbose"}).resolved()
    objective = _Level(cfg, _load(content, 48, "c"), [_load(style, 48, "s")], None, 1.0).objective
    (style_small, content_small, _), (style_big, content_big, _) = [
        [float(v) for v in objective.parts(image[None])] for image in images
    ]
    assert content_big < 0.5 * content_small and style_big > style_small
    with Image.open(tmp_path / "lambda.png") as grid:
        assert grid.width > grid.height and np.asarray(grid.convert("L")).std() > 10  # two panels, not blank


def test_epochs_sweep_picks_the_frames_of_one_run(pair, tmp_path):
    content, style = pair
    frames = nst.epochs_sweep(content, style, (3, 1), path=tmp_path / "epochs.png", **{**TINY, "steps_per_epoch": 2})
    run = nst.stylize(content, style, **{**TINY, "steps_per_epoch": 2, "epochs": 3})
    assert len(frames) == 2 and all(np.array_equal(f, run.frames[e]) for f, e in zip(frames, (0, 2)))
    assert np.abs(frames[1].astype(int) - frames[0]).max() > 0 and run.epoch_losses[2] < run.epoch_losses[0]
    assert (tmp_path / "epochs.png").is_file()


def test_demo_images(files, jpeg_folder):
    from stx_tf.data import CompetitionData

    c, s = nst.demo_images(*files, max_dim=32)
    assert c.shape == (32, 32, 3) and s.dtype == np.float32
    data = CompetitionData(
        monet=str(jpeg_folder), photo=str(jpeg_folder), origin="test", root=str(jpeg_folder)
    )
    c, s = nst.demo_images(data=data, max_dim=64)
    assert c.shape == (64, 64, 3) and 0.0 <= c.min() <= c.max() <= 1.0


def test_recommended_config():
    cfg = nst.recommended_config(smoke=True)
    assert cfg.weights is None and cfg.max_dim <= 64
    assert nst.recommended_config(smoke=False, place="kaggle").backbone == "vgg19"


def test_cli_stylize(files, tmp_path, capsys):
    content, style = files
    out, gif = tmp_path / "out.png", tmp_path / "out.gif"
    args = ["stylize", str(content), str(style), str(style), "-o", str(out), "--backbone", "squeezenet"]
    args += ["--weights", "none", "--max-dim", "40", "--steps-per-epoch", "2", "--epochs", "2", "--gif", str(gif), "-q"]
    assert main(args + ["--preserve-color", "--style-weights", "1", "2", "--tv-weight", "0.1"]) == 0
    assert Image.open(out).size == (40, 40) and gif.is_file()
    assert (
        main(["stylize", str(tmp_path / "missing.jpg"), str(style), "-o", str(out), "--weights", "none"]) == 2
    )
    assert "missing.jpg" in capsys.readouterr().err


def test_real_squeezenet_weights_paint(squeezenet_weights, pair):
    content, style = pair
    result = nst.stylize(content, style, **{**TINY, "weights": squeezenet_weights, "max_dim": 64, "steps_per_epoch": 5})
    assert result.epoch_losses[-1] < 0.7 * result.history[0]


def _tiny_objective(pair, precision="float32", **overrides):
    content, style = pair
    cfg = nst.StylizeConfig(
        **{k: v for k, v in TINY.items() if k != "verbose"}, precision=precision, **overrides
    ).resolved()
    c, s = resize(content.astype(np.float32) / 255, 48, 48), style.astype(np.float32) / 255
    objective = nst.StyleObjective(
        nst.extractor(cfg), c, [s], cfg, step_extractor=nst.extractor(cfg, cfg.precision)
    )
    return objective, c


def _value_and_grad(fn, image):
    import tensorflow as tf

    x = tf.constant(image)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = fn(x)
    return float(loss), tape.gradient(loss, x).numpy()


def test_step_loss_is_the_objective_with_cheaper_gradients(pair):
    objective, c = _tiny_objective(pair, tv_weight=0.5)
    rng = np.random.default_rng(0)
    image = np.clip(c + rng.normal(0, 0.1, c.shape), 0, 1).astype(np.float32)[None]
    for x in (image, image[..., :1]):  # RGB, and luminance (preserve_color) tiled to grey
        ref_loss, ref_grad = _value_and_grad(objective, x)
        loss, grad = _value_and_grad(objective.step_loss, x)
        assert loss == pytest.approx(ref_loss, rel=1e-5)
        assert np.abs(grad - ref_grad).max() <= 1e-4 * np.abs(ref_grad).max()


def test_bfloat16_precision(pair, monkeypatch):
    from stx_tf import precision

    with pytest.raises(ValueError, match="precision"):
        nst.StylizeConfig(precision="float16").resolved()
    assert nst.step_policy("float32") == "float32"
    assert nst.step_policy("bfloat16") == nst.step_policy("mixed_bfloat16") == "mixed_bfloat16"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert nst.step_policy("auto") == "float32"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    assert nst.step_policy("auto") == "mixed_bfloat16"  # tests run without GPU / TPU
    monkeypatch.setattr(precision, "resolve", lambda value: "mixed_float16")  # a GPU with tensor cores
    assert nst.step_policy("auto") == "float32"  # Gatys' Grams overflow float16: float32 there
    monkeypatch.undo()

    objective, c = _tiny_objective(pair, precision="bfloat16")
    feats = objective.step_extractor(c[None])
    assert all(keras.backend.standardize_dtype(f.dtype) == "bfloat16" for f in feats.values())
    assert objective.step_extractor is nst.extractor(objective.cfg, "mixed_bfloat16")  # cached
    ref_loss, ref_grad = _value_and_grad(objective, c[None])
    loss, grad = _value_and_grad(objective.step_loss, c[None])
    assert loss == pytest.approx(ref_loss, rel=0.05)
    cosine = (grad * ref_grad).sum() / np.linalg.norm(grad) / np.linalg.norm(ref_grad)
    assert cosine > 0.9

    content, style = pair
    result = nst.stylize(content, style, **TINY, precision="bfloat16")
    assert result.config.precision == "mixed_bfloat16"
    assert result.epoch_losses[-1] < result.epoch_losses[0] < result.history[0] * 1.05
    # reported losses are the float32 objective of the returned image
    level = _Level(result.config, _load(content, 48, "c"), [_load(style, 48, "s")], None, 1.0)
    assert result.final_loss == pytest.approx(float(level.objective(result.image[None])), rel=1e-5)


def test_recommended_config_local():
    cfg = nst.recommended_config(smoke=False, place="local")
    assert cfg.backbone == "squeezenet" and cfg.precision == "auto"
    assert (cfg.learning_rate, cfg.beta_1, cfg.beta_2, cfg.schedule) == (0.04, 0.95, 0.99, "cosine")
    assert cfg.epochs * cfg.steps_per_epoch == 800
    tutorial = nst.recommended_config(smoke=False, place="kaggle")
    assert (tutorial.learning_rate, tutorial.beta_1, tutorial.schedule) == (0.02, 0.99, "constant")


def test_cosine_schedule_decays_to_the_final_fraction(pair):
    objective, c = _tiny_objective(pair, schedule="cosine", learning_rate=0.05, final_lr_fraction=0.2)
    variable = keras.Variable(c[None])
    run = nst.adam_runner(objective, variable, objective.cfg, total_steps=6)
    assert float(run.optimizer.learning_rate) == pytest.approx(0.05)
    run(3)
    assert float(run.optimizer.learning_rate) == pytest.approx(0.05 * (0.2 + 0.8 * 0.5), rel=1e-5)  # half-way
    run(3)
    assert float(run.optimizer.learning_rate) == pytest.approx(0.01, rel=1e-5)
    run(2)  # past the end: stays at the final rate
    assert float(run.optimizer.learning_rate) == pytest.approx(0.01, rel=1e-5)
    constant = nst.adam_runner(
        objective, keras.Variable(c[None]), dataclasses.replace(objective.cfg, schedule="constant")
    )
    constant(2)
    assert float(constant.optimizer.learning_rate) == pytest.approx(0.05)


@pytest.mark.parametrize(
    "bad", [{"schedule": "step"}, {"beta_1": 1.0}, {"beta_2": -0.1}, {"final_lr_fraction": 1.5}]
)
def test_bad_optimiser_settings(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        nst.StylizeConfig(**bad).resolved()


def test_cli_fast_schedule(files, tmp_path, monkeypatch):
    seen = {}
    real = nst.stylize

    def spy(content, style, config, **kw):
        seen["config"] = config
        return real(content, style, config, **kw)

    monkeypatch.setattr(nst, "stylize", spy)
    content, style = files
    out = tmp_path / "fast.png"
    args = [
        "stylize",
        str(content),
        str(style),
        "-o",
        str(out),
        "--backbone",
        "squeezenet",
        "--weights",
        "none",
    ]
    assert (
        main(args + ["--max-dim", "40", "--fast", "--steps-per-epoch", "2", "--epochs", "2", "--beta2", "0.98", "-q"]) == 0
    )
    cfg = seen["config"]
    assert (cfg.schedule, cfg.learning_rate, cfg.beta_1, cfg.beta_2, cfg.steps_per_epoch) == (
        "cosine",
        0.04,
        0.95,
        0.98,
        2,
    )
    assert Image.open(out).size == (40, 40)


def test_edge_pixels_reach_the_network(pair):
    """Sizes SqueezeNet's valid strided layers do not tile are reflect-padded: the last columns get
    style/content gradient (unpadded, they get none and stay an unpainted stripe of photo)."""

    assert [backbones.cover_padding("squeezenet", n) for n in (48, 47, 37, 405, 512)] == [0, 0, 10, 10, 0]
    assert [backbones.cover_padding("vgg19", n) for n in (48, 47, 405)] == [0, 1, 11]
    content, style = pair
    deep = {"style_layers": ("fire5", "fire7"), "content_layers": ("fire6",), "tv_weight": 0.0}
    cfg = nst.StylizeConfig(**{k: v for k, v in TINY.items() if k != "verbose"}, **deep).resolved()
    c, s = resize(content.astype(np.float32) / 255, 48, 37), style.astype(np.float32) / 255
    objective = nst.StyleObjective(nst.extractor(cfg), c, [s], cfg)
    assert objective.padding == (0, 10)
    x = np.random.default_rng(1).uniform(size=(1, 48, 37, 3)).astype(np.float32)
    for fn in (objective, objective.step_loss):
        _, grad = _value_and_grad(fn, x)
        assert grad.shape == x.shape and (np.abs(grad[0, :, -3:]).sum(axis=(0, 2)) > 0).all()
    objective.padding = (0, 0)
    _, grad = _value_and_grad(objective, x)
    assert np.abs(grad[0, :, -2:]).sum() == 0  # what the padding fixes


@pytest.mark.parametrize("signed", [False, True])
def test_step_features_are_squeezenet_without_concatenations(signed):
    import tensorflow as tf

    from stx_tf.nst.step_features import step_features

    layers = ["conv1", "fire2", "pool3", "fire4_squeeze1x1", "fire5", "fire6", "fire7"]
    model = backbones.feature_extractor("squeezenet", layers, weights=None, signed=signed)
    fn = step_features(model)
    x = np.random.default_rng(0).uniform(-1 if signed else 0, 1, (1, 61, 75, 3)).astype(np.float32)
    ref, parts = model(x), fn(tf.constant(x))
    assert [len(parts[k]) for k in layers] == [1, 2, 2, 1, 2, 2, 2]  # fire outputs stay in two parts
    for k in layers:
        got = np.concatenate([p.numpy() for p in parts[k]], axis=-1)
        np.testing.assert_allclose(got, ref[k].numpy(), rtol=1e-4, atol=1e-4 * np.abs(ref[k].numpy()).max())
    graph = tf.function(lambda x: sum(tf.reduce_sum(p) for v in fn(x).values() for p in v)).get_concrete_function(
        tf.TensorSpec(x.shape)
    ).graph
    ops = {op.type for op in graph.get_operations()}
    assert "ConcatV2" not in ops and "ReverseV2" not in ops  # no concatenation, preprocessing folded


def test_step_features_fall_back_to_the_model_for_other_backbones():
    from stx_tf.nst.step_features import step_features

    model = backbones.feature_extractor("vgg19", ["block1_conv2", "block2_conv1"], weights=None)
    x = np.random.default_rng(0).uniform(size=(1, 32, 32, 3)).astype(np.float32)
    parts, ref = step_features(model)(x), model(x)
    assert {k: len(v) for k, v in parts.items()} == {"block1_conv2": 1, "block2_conv1": 1}
    np.testing.assert_array_equal(parts["block2_conv1"][0].numpy(), ref["block2_conv1"].numpy())


@pytest.mark.parametrize("widths", [(6,), (4, 4), (3, 5, 2)])
def test_gram_distance_is_the_squared_gram_difference_with_its_gradient(widths):
    import tensorflow as tf

    from stx_tf.nst.objective import gram_distance

    rng = np.random.default_rng(1)
    parts = [tf.constant(rng.uniform(size=(1, 7, 5, w)).astype(np.float32)) for w in widths]
    other = rng.uniform(size=(1, 9, 4, sum(widths))).astype(np.float32)
    target = losses.gram_matrix(other, "paper")  # symmetric, like a painting's Gram

    def reference(*parts):
        return tf.reduce_sum(tf.square(losses.gram_matrix(tf.concat(parts, -1), "paper") - target))

    with tf.GradientTape(persistent=True) as tape:
        tape.watch(parts)
        ours, ref = gram_distance(parts, target), reference(*parts)
    assert float(ours) == pytest.approx(float(ref), rel=1e-5)
    for g, r in zip(tape.gradient(ours, parts), tape.gradient(ref, parts)):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-4, atol=1e-6)


def test_step_features_in_bfloat16_follow_the_bfloat16_model(pair):
    from stx_tf.nst.step_features import step_features

    objective, c = _tiny_objective(pair, precision="bfloat16")
    model = objective.step_extractor
    ref, parts = model(c[None]), step_features(model)(c[None])
    for k, value in ref.items():
        got = np.concatenate([p.numpy().astype(np.float32) for p in parts[k]], axis=-1)
        assert keras.backend.standardize_dtype(parts[k][0].dtype) == "bfloat16"
        want = value.numpy().astype(np.float32)
        assert np.abs(got - want).max() <= 0.05 * np.abs(want).max()


@pytest.mark.parametrize("stop_at", [None, 2])
def test_float32_epoch_losses_come_from_the_next_step(pair, monkeypatch, stop_at):
    from stx_tf.nst import procedure

    evaluated = []
    real = procedure._epoch_loss
    monkeypatch.setattr(procedure, "_epoch_loss", lambda fn, image: evaluated.append(1) or real(fn, image))
    seen = []

    def callback(epoch, image, loss):
        seen.append((image.copy(), loss))
        return epoch == stop_at

    content, style = pair
    result = nst.stylize(content, style, **{**TINY, "epochs": 4}, precision="float32", callbacks=[callback])
    epochs = stop_at or 4
    assert len(result.epoch_losses) == epochs and len(result.history) == 3 * epochs
    assert len(evaluated) == (0 if stop_at else 1)  # only the last epoch is evaluated separately
    level = _Level(result.config, _load(content, 48, "c"), [_load(style, 48, "s")], None, 1.0)
    for image, loss in seen:  # each reported loss is the float32 objective of the reported image
        assert loss == pytest.approx(float(level.objective(image[None])), rel=1e-5)
    np.testing.assert_array_equal(result.image, seen[-1][0])


def test_fused_adam_is_keras_adam():
    import tensorflow as tf

    from stx_tf.nst.optimisers import FusedAdam

    rng = np.random.default_rng(0)
    start = rng.uniform(size=(1, 5, 4, 3)).astype(np.float32)
    ours, theirs = keras.Variable(start), keras.Variable(start)
    schedule = keras.optimizers.schedules.CosineDecay(0.05, decay_steps=4, alpha=0.1)
    fused = FusedAdam(ours, schedule, beta_1=0.95, beta_2=0.99, epsilon=0.1)
    reference = keras.optimizers.Adam(schedule, beta_1=0.95, beta_2=0.99, epsilon=0.1)
    for _ in range(5):
        grad = tf.constant(rng.normal(size=start.shape).astype(np.float32))
        fused.apply(grad)
        reference.apply([grad], [theirs])
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)
    assert int(fused.iterations.numpy()) == 5
    assert float(fused.learning_rate) == pytest.approx(0.005, rel=1e-5)
