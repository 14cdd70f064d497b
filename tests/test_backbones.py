"""stx_tf.backbones: layer outputs, preprocessing, weight files (no network)."""

from __future__ import annotations

import h5py
import keras
import numpy as np
import pytest

from stx_tf import backbones

X = np.random.default_rng(0).uniform(size=(2, 48, 48, 3)).astype(np.float32)


def _write_squeezenet_h5(path, seed=0):
    """Write random SqueezeNet v1.1 weights in the published Keras HDF5 layout (names as in the real file)."""
    rng = np.random.default_rng(seed)
    convs = [("conv1", (3, 3, 3, 64))]
    channels = 64
    for name, squeeze, expand, _ in backbones.SQUEEZENET_FIRES:
        convs += [
            (f"{name}/squeeze1x1", (1, 1, channels, squeeze)),
            (f"{name}/expand1x1", (1, 1, squeeze, expand)),
            (f"{name}/expand3x3", (3, 3, squeeze, expand)),
        ]
        channels = 2 * expand
    values = {}
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"input_1"] + [n.encode() for n, _ in convs] + [b"drop9"])
        for i, (name, shape) in enumerate(convs):
            group = f.create_group(name)
            kernel_name, bias_name = f"uniform{i + 1}", f"{name}_b"
            group.attrs["weight_names"] = np.array([kernel_name.encode(), bias_name.encode()])
            kernel = rng.normal(scale=0.1, size=shape).astype(np.float32)
            bias = rng.normal(scale=0.01, size=shape[-1:]).astype(np.float32)
            group[kernel_name], group[bias_name] = kernel, bias
            values[name] = (kernel, bias)
        f.create_group("drop9").attrs["weight_names"] = np.array([], dtype=np.float64)
    return values


def test_squeezenet_random_layers_and_shapes():
    model = backbones.feature_extractor("squeezenet", weights=None)
    out = model(X)
    assert list(out) == ["conv1", "fire2", "fire3", "fire5", "fire7", "fire6"]
    assert out["conv1"].shape == (2, 23, 23, 64)
    assert out["fire2"].shape[-1] == 128 and out["fire7"].shape[-1] == 384
    assert not model.trainable_weights


def test_squeezenet_loads_keras_hdf5_layout(tmp_path):
    path = tmp_path / "squeeze.h5"
    values = _write_squeezenet_h5(path)
    model = backbones.squeezenet(weights=path)
    kernel, bias = model.get_layer("fire4_expand3x3").get_weights()
    np.testing.assert_array_equal(kernel, values["fire4/expand3x3"][0])
    np.testing.assert_array_equal(bias, values["fire4/expand3x3"][1])
    # fire output = concat(expand1x1, expand3x3) after the preprocessing
    feats = backbones.feature_extractor("squeezenet", ["fire2", "fire2_expand1x1"], weights=path)(X)
    np.testing.assert_allclose(feats["fire2"][..., :64], feats["fire2_expand1x1"], atol=1e-5)


def test_squeezenet_bad_files(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="HDF5"):
        backbones.squeezenet(weights=bad)
    partial = tmp_path / "partial.h5"
    with h5py.File(partial, "w") as f:
        f.create_group("conv1").attrs["weight_names"] = np.array([b"k", b"b"])
    with pytest.raises(ValueError, match="'conv1' lacks"):
        backbones.squeezenet(weights=partial)
    with h5py.File(partial, "a") as f:
        del f["conv1"]
    with pytest.raises(ValueError, match="no weights for layer 'conv1'"):
        backbones.squeezenet(weights=partial)
    with pytest.raises(ValueError, match="no such file"):
        backbones.squeezenet(weights=tmp_path / "missing.h5")


def test_caffe_preprocessing():
    layer = backbones.CaffePreprocess()
    out = np.asarray(layer(np.ones((1, 2, 2, 3), np.float32) * [0.0, 0.5, 1.0]))
    np.testing.assert_allclose(out[0, 0, 0], [255 - 103.939, 127.5 - 116.779, 0 - 123.68], atol=1e-3)
    signed = np.asarray(backbones.CaffePreprocess(signed=True)(np.zeros((1, 1, 1, 3), np.float32)))
    np.testing.assert_allclose(signed[0, 0, 0], np.array([127.5] * 3) - backbones.CAFFE_MEAN_BGR, atol=1e-3)


def test_vgg19_random_and_local_file(tmp_path):
    model = backbones.feature_extractor("vgg19", weights=None)
    out = model(X[:1])
    assert set(out) == {f"block{i}_conv1" for i in range(1, 6)} | {"block4_conv2"}
    assert out["block4_conv2"].shape == (1, 6, 6, 512)
    ref = keras.applications.VGG19(include_top=False, weights=None)
    path = tmp_path / "vgg19_notop.weights.h5"
    ref.save_weights(path)
    loaded = backbones.feature_extractor("vgg19", ["block5_conv2"], weights=path)
    np.testing.assert_array_equal(
        loaded.get_layer("block5_conv2").get_weights()[0], ref.get_layer("block5_conv2").get_weights()[0]
    )
    with pytest.raises(ValueError, match="no layer"):
        backbones.feature_extractor("vgg19", ["block9_conv1"], weights=None)
    with pytest.raises(ValueError, match="unknown backbone"):
        backbones.feature_extractor("resnet", weights=None)


def test_imagenet_uses_env_var_then_explains_failed_download(tmp_path, monkeypatch):
    path = tmp_path / "s.h5"
    _write_squeezenet_h5(path)
    monkeypatch.setenv("STX_SQUEEZENET_WEIGHTS", str(path))
    assert backbones.resolve_weights("squeezenet", "imagenet") == path
    monkeypatch.delenv("STX_SQUEEZENET_WEIGHTS")
    monkeypatch.delenv("STX_VGG19_WEIGHTS", raising=False)

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(RuntimeError, match="STX_VGG19_WEIGHTS"):
        backbones.vgg19(weights="imagenet")
    assert backbones.resolve_weights("vgg19", None) is None


def test_pooled_features(tmp_path):
    model = backbones.pooled_features("squeezenet", weights=None)
    out = np.asarray(model(X))
    assert out.shape == (2, 512)
    full = np.asarray(backbones.squeezenet(weights=None)(X))
    assert full.shape[-1] == 512


def test_real_squeezenet_weights(squeezenet_weights):
    model = backbones.feature_extractor("squeezenet", weights=squeezenet_weights)
    out = model(X)
    # trained filters: conv1 responds (ReLU maps not all zero) and the deeper maps are finite and sparse-ish
    assert float(np.mean(np.asarray(out["conv1"]) > 0)) > 0.05
    fire6 = np.asarray(out["fire6"])
    assert np.all(np.isfinite(fire6)) and fire6.max() > 0
