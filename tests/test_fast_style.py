"""Fast style transfer: transform net shapes, a training step, presets, apply, export, CLI, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

keras = pytest.importorskip("keras")

from stx_tf.cli import main  # noqa: E402
from stx_tf.fast_style import (  # noqa: E402
    AdversarialFastStyleTrainer,
    FastStyleConfig,
    FastStyleTrainer,
    apply,
    apply_to_files,
    build_perceptual_loss,
    build_transform_net,
    export,
    list_presets,
    load_preset,
    predictor,
    run_tflite,
    save_preset,
)

TINY = {"filters": (4, 8, 8), "residual_blocks": 1}


@pytest.fixture(scope="module")
def tiny_net():
    keras.utils.set_random_seed(1)
    return build_transform_net(**TINY)


@pytest.fixture()
def models_dir(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setenv("STX_MODELS_DIR", str(folder))
    return folder


def _rand(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, shape).astype("float32")


# ------------------------------------------------------------------------------------- transform net
@pytest.mark.parametrize("height,width", [(32, 32), (37, 53), (64, 48), (33, 97)])
def test_transform_any_size(tiny_net, height, width):
    out = np.asarray(tiny_net(_rand((2, height, width, 3))))
    assert out.shape == (2, height, width, 3)
    assert out.dtype == np.float32 and 0.0 <= out.min() and out.max() <= 1.0


def test_transform_paper_layout():
    net = build_transform_net()  # paper widths, 5 residual blocks
    names = [layer.name for layer in net.layers]
    assert sum(n.endswith("_add") for n in names) == 5
    assert [net.get_layer(n).kernel_size for n in ("stem_conv", "head_conv")] == [(9, 9), (9, 9)]
    assert [net.get_layer(n).strides for n in ("down1_conv", "down2_conv")] == [(2, 2), (2, 2)]
    assert all(isinstance(net.get_layer(f"{n}_in"), keras.layers.GroupNormalization) for n in ("stem", "up2"))
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in net.layers)


def test_transform_rejects_bad_widths():
    with pytest.raises(ValueError, match="three positive widths"):
        build_transform_net(filters=(8, 8))


def test_bfloat16_predictor_close(tiny_net):
    x = _rand((1, 40, 44, 3))
    full = np.asarray(predictor(tiny_net, precision="float32")(x))
    half = np.asarray(predictor(tiny_net, precision="bfloat16")(x))
    assert half.shape == full.shape and np.abs(half - full).max() < 0.05


# ------------------------------------------------------------------------------------------ training
@pytest.fixture(scope="module")
def perceptual():
    keras.utils.set_random_seed(2)
    return build_perceptual_loss(
        "squeezenet", _rand((64, 80, 3), 3), weights=None, style_weight=3.0, tv_weight=1.0
    )


def test_training_step_lowers_loss(perceptual):
    keras.utils.set_random_seed(3)
    model = FastStyleTrainer(build_transform_net(**TINY), perceptual, global_batch_size=2)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), run_eagerly=True)  # no tracing: fast on tiny nets
    photos = _rand((2, 48, 48, 3), 4)
    before = float(model.compute_loss(photos, None, model(photos)))
    for _ in range(5):
        logs = model.train_on_batch(photos, return_dict=True)
    after = float(model.compute_loss(photos, None, model(photos)))
    assert {"loss", "content", "style", "tv"} <= set(logs)
    assert after < before
    assert not model.extractor.trainable_weights  # the backbone stays frozen


def test_adversarial_step_trains_both_nets(perceptual):
    from stx_tf.nn import patchgan_discriminator

    keras.utils.set_random_seed(5)
    disc = patchgan_discriminator(filters=4)
    model = AdversarialFastStyleTrainer(
        build_transform_net(**TINY), perceptual, disc, 0.5, global_batch_size=2
    )
    model.compile(run_eagerly=True)
    d_before = [w.numpy().copy() for w in disc.trainable_weights]
    logs = model.train_on_batch(_rand((2, 48, 48, 3), 6), _rand((2, 48, 48, 3), 7), return_dict=True)
    assert {"loss", "adv", "d_loss", "style"} <= set(logs) and all(np.isfinite(v) for v in logs.values())
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(d_before, disc.trainable_weights))


def test_config_validation():
    with pytest.raises(ValueError, match="paintings"):
        FastStyleConfig(style="s.jpg", photos="p", adversarial_weight=0.1).validate()
    with pytest.raises(ValueError, match="style"):
        FastStyleConfig(photos="p").check_inputs()
    with pytest.raises(ValueError, match="filters must be three"):
        FastStyleConfig(filters=(4, 8))


# ----------------------------------------------------------------------------- presets, apply, export
def test_preset_roundtrip_and_list(tiny_net, models_dir):
    path = save_preset(tiny_net, "tiny", {"style": "x.jpg"})
    assert path == models_dir / "tiny.keras" and (models_dir / "tiny.json").is_file()
    loaded = load_preset("tiny")
    x = _rand((1, 35, 41, 3))
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(tiny_net(x)), atol=1e-5)
    assert [p.name for p in list_presets()] == ["tiny"] and list_presets()[0].info["style"] == "x.jpg"


def test_load_rejects_wrong_kind(tmp_path, models_dir):
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="classifier")
    other.save(tmp_path / "other.keras")
    with pytest.raises(ValueError, match="not a fast-style transform net"):
        load_preset(tmp_path / "other.keras")
    (tmp_path / "fake.keras").write_bytes(b"\xff\xd8\xff not a model")
    with pytest.raises(ValueError, match="not a Keras"):
        load_preset(tmp_path / "fake.keras")
    with pytest.raises(ValueError, match="no such model file or preset"):
        load_preset("nope")
    with pytest.raises(ValueError, match="is a folder"):
        load_preset(tmp_path)


def test_export_savedmodel_and_tflite(tiny_net, tmp_path):
    import tensorflow as tf

    x = _rand((1, 37, 42, 3))
    expected = np.asarray(tiny_net(x))
    saved = export(tiny_net, tmp_path / "sm", format="savedmodel")
    reloaded = tf.saved_model.load(str(saved))
    np.testing.assert_allclose(reloaded.serve(x).numpy(), expected, atol=1e-5)
    lite = export(tiny_net, tmp_path / "net", format="tflite")
    assert lite.name == "net.tflite"
    np.testing.assert_allclose(run_tflite(lite, x), expected, atol=1e-4)
    export(tiny_net, saved, format="savedmodel")  # overwriting an earlier export is fine
    with pytest.raises(ValueError, match="format"):
        export(tiny_net, tmp_path / "x", format="onnx")


def test_apply_files_of_any_size_and_mode(tiny_net, tmp_path, rgb_factory):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(rgb_factory(0, 64)[:47, :33]).save(src / "odd.jpg")
    Image.fromarray(rgb_factory(1, 64)[..., 0]).save(src / "gray.png")
    rgba = np.dstack([rgb_factory(2, 64), np.full((64, 64), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(src / "alpha.png")
    Image.fromarray(rgb_factory(3, 64)).save(src / "same.png")
    written = apply_to_files(tiny_net, [src], tmp_path / "out", batch_size=3, progress=False)
    sizes = {p.stem: Image.open(p).size for p in written}
    assert sizes == {"alpha": (64, 64), "gray": (64, 64), "odd": (33, 47), "same": (64, 64)}
    arrays = apply(tiny_net, [rgb_factory(4, 40)], batch_size=2)
    assert arrays[0].shape == (40, 40, 3)


def test_apply_bad_inputs(tiny_net, tmp_path, rgb_factory):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(ValueError, match="broken.jpg"):
        apply(tiny_net, [broken])
    tiny = tmp_path / "tiny.png"
    Image.fromarray(rgb_factory(0, 16)).save(tiny)
    with pytest.raises(ValueError, match="too small"):
        apply(tiny_net, [tiny])
    with pytest.raises(ValueError, match="no such file"):
        apply(tiny_net, [tmp_path / "missing.jpg"])


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_train_resume_apply_export_list(tmp_path, jpeg_folder, capsys):
    from stx_tf.training import load_arrays, read_run

    style = jpeg_folder / "img00.jpg"
    models = tmp_path / "models"
    run = tmp_path / "run"
    common = ["fast-style", "train", "--style", str(style), "--photos", str(jpeg_folder), "--name", "t"]
    common += ["--backbone", "squeezenet", "--weights", "none", "--image-size", "48", "--style-size", "64"]
    common += ["--filters", "4", "8", "8", "--residual-blocks", "1", "--steps-per-epoch", "2", "--batch-size", "2"]
    common += ["--out-dir", str(run), "--models-dir", str(models), "--quiet"]
    assert main([*common, "--epochs", "1"]) == 0
    first_grid = run / "samples" / "epoch_001.png"
    assert (models / "t.keras").is_file() and first_grid.is_file()
    first = read_run(run)["history"]
    stamp = first_grid.stat().st_mtime_ns
    assert main([*common, "--epochs", "2", "--resume"]) == 0
    history = read_run(run)["history"]
    # Resumed, not restarted: epoch 1 was not trained (nor drawn) again, its losses are kept, and the
    # optimiser's step count went on from the checkpoint (2 steps per epoch).
    assert first_grid.stat().st_mtime_ns == stamp and (run / "samples" / "epoch_002.png").is_file()
    assert all(history[k][0] == first[k][0] and len(history[k]) == 2 for k in first)
    assert int(load_arrays(run / "checkpoints" / "epoch_0002", "optimizer")[0]) == 4
    assert (run / "loss_curves.png").is_file()

    out = tmp_path / "styled"
    assert main(["fast-style", "apply", str(models / "t.keras"), str(jpeg_folder), "-o", str(out)]) == 0
    assert len(list(out.glob("*.jpg"))) == 6
    lite = ["fast-style", "export", str(models / "t.keras"), "--format", "tflite", "-o", str(tmp_path / "t")]
    assert main(lite) == 0
    assert (tmp_path / "t.tflite").is_file()
    assert main(["fast-style", "list", "--models-dir", str(models)]) == 0
    assert "t.keras" in capsys.readouterr().out


class _Weights(keras.callbacks.Callback):
    """Records the discriminator's weights when fit starts."""

    def on_train_begin(self, logs=None):
        self.start = [w.numpy().copy() for w in self.model.discriminator.trainable_weights]


def test_train_with_painting_discriminator(tmp_path, jpeg_folder):
    from stx_tf.fast_style import train
    from stx_tf.training import load_arrays

    config = FastStyleConfig(
        style=str(jpeg_folder / "img01.jpg"),
        photos=str(jpeg_folder),
        paintings=str(jpeg_folder),
        adversarial_weight=0.1,
        backbone="squeezenet",
        weights=None,
        image_size=48,
        style_size=64,
        batch_size=2,
        epochs=1,
        steps_per_epoch=2,
        samples=2,
        d_filters=4,
        out_dir=str(tmp_path / "adv"),
        **TINY,
    )
    seen = _Weights()
    result = train(config, verbose=0, callbacks=[seen])
    disc = result.run.checkpoint
    assert {"adv", "d_loss", "loss"} <= set(result.history) and result.checkpoint.is_file()
    saved = load_arrays(disc, "discriminator")
    assert any(not np.allclose(a, b) for a, b in zip(seen.start, saved)), "the discriminator was trained"
    assert int(load_arrays(disc, "d_optimizer")[0]) == 2  # both steps updated it
    assert result.history["adv"][0] > 0


def test_cli_bad_input_is_a_clean_error(tmp_path, capsys):
    assert main(["fast-style", "apply", "no_such_preset", "x.jpg", "-o", str(tmp_path)]) == 2
    assert "no such model file or preset" in capsys.readouterr().err
    bad = ["fast-style", "train", "--style", "s.jpg", "--photos", str(tmp_path), "--filters", "1", "2"]
    assert main(bad) == 2
    assert "filters must be three" in capsys.readouterr().err


def test_training_contract(tmp_path, jpeg_folder):
    from contract import Painter, check_contract

    from stx_tf.fast_style import train

    def run(run_dir, epochs, callbacks, budget):
        config = FastStyleConfig(
            style=str(jpeg_folder / "img02.jpg"), photos=str(jpeg_folder), backbone="squeezenet", weights=None,
            image_size=48, style_size=64, batch_size=2, epochs=epochs, steps_per_epoch=2, samples=2,
            out_dir=str(run_dir), time_budget=budget, **TINY,
        )
        return train(config, callbacks=callbacks, verbose=0)

    check_contract(
        Painter(train=run, items=lambda m: m.checkpoint_items(), optimizer=lambda m: m.optimizer), tmp_path
    )
