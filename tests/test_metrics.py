"""Local MiFID: FID / memorisation / KID maths against references, inputs, caching, bad input, CLI."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from PIL import Image
from scipy import linalg

from stx_tf.metrics import (
    extract_features,
    fid_from_features,
    frechet_distance,
    graphdef_extractor,
    keras_extractor,
    kernel_inception_distance,
    memorisation_distance,
    mifid,
    real_features,
    score,
    threshold_distance,
)
from stx_tf.metrics import fid as fid_module


# ------------------------------------------------------------------ references (Kaggle's / TTUR code)
def reference_fid(mu1, sigma1, mu2, sigma2, eps=1e-6):
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        assert np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3)
        covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def reference_cosine_distance(features1, features2):
    def normalize_rows(x):
        return np.nan_to_num(x / np.linalg.norm(x, ord=2, axis=1, keepdims=True))

    f1 = normalize_rows(features1[np.sum(features1, axis=1) != 0])
    f2 = normalize_rows(features2[np.sum(features2, axis=1) != 0])
    return np.mean(np.min(1.0 - np.abs(np.matmul(f1, f2.T)), axis=1))


def stats(x):
    return x.mean(axis=0), np.cov(x, rowvar=False)


# ------------------------------------------------------------------------------------------ maths
def test_fid_matches_scipy_reference_on_random_features():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 32))
    b = rng.normal(loc=0.3, scale=1.4, size=(250, 32)) @ rng.normal(size=(32, 32)) * 0.3
    expected = reference_fid(*stats(a), *stats(b))
    assert fid_from_features(a, b) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(*stats(b), *stats(a)) == pytest.approx(expected, rel=1e-6)


def test_fid_identical_sets_is_zero():
    a = np.random.default_rng(1).normal(size=(200, 16))
    assert abs(fid_from_features(a, a.copy())) < 1e-8


def test_fid_known_gaussian_closed_form():
    rng = np.random.default_rng(2)
    dim = 12
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    s1, s2 = rng.uniform(0.1, 3.0, dim), rng.uniform(0.1, 3.0, dim)
    closed = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(closed, rel=1e-9)
    # rotate both Gaussians: the distance does not change
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    rot = frechet_distance(q @ mu1, q @ np.diag(s1) @ q.T, q @ mu2, q @ np.diag(s2) @ q.T)
    assert rot == pytest.approx(closed, rel=1e-6)


def test_fid_near_singular_covariances_stay_real_and_finite():
    rng = np.random.default_rng(3)
    few = rng.normal(size=(3, 64))  # rank-2 covariance in 64 dimensions
    other = rng.normal(size=(4, 64))
    value = fid_from_features(few, other)
    assert isinstance(value, float) and np.isfinite(value)
    const = np.ones((5, 8))  # zero covariance
    assert np.isfinite(fid_from_features(const, const + 1.0))
    assert fid_from_features(const, const + 1.0) == pytest.approx(8.0, abs=1e-4)


def test_fid_uses_diagonal_offset_when_product_is_singular(monkeypatch):
    calls = []
    real_sqrtm = linalg.sqrtm

    def flaky(matrix):
        calls.append(matrix.copy())
        return np.full_like(matrix, np.nan) if len(calls) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(fid_module.linalg, "sqrtm", flaky)
    a = np.random.default_rng(4).normal(size=(50, 6))
    value = fid_from_features(a, a)
    assert len(calls) == 2 and np.isfinite(value) and abs(value) < 1e-4
    sigma = np.cov(a, rowvar=False)
    offset = np.eye(6) * 1e-6
    np.testing.assert_allclose(calls[1], (sigma + offset) @ (sigma + offset))


def test_fid_rejects_bad_statistics():
    with pytest.raises(ValueError, match="at least 2"):
        fid_from_features(np.ones((1, 4)), np.ones((5, 4)))
    with pytest.raises(ValueError, match="do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full(2, np.nan), np.eye(2), np.zeros(2), np.eye(2))


def test_memorisation_distance_matches_reference_and_drops_zero_rows():
    rng = np.random.default_rng(5)
    gen, real = rng.normal(size=(40, 16)), rng.normal(size=(30, 16))
    gen[3] = 0.0  # dropped
    real[7] = 0.0
    assert memorisation_distance(gen, real) == pytest.approx(reference_cosine_distance(gen, real), rel=1e-12)


def test_threshold_copies_trigger_penalty_distant_set_does_not():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(50, 32))
    copies = real[:20] + rng.normal(scale=1e-3, size=(20, 32))
    d_copy = memorisation_distance(copies, real)
    assert d_copy < 0.1 and threshold_distance(d_copy) == d_copy
    assert mifid(10.0, d_copy) == pytest.approx(10.0 / d_copy)
    distant = rng.normal(size=(20, 32))
    d_far = memorisation_distance(distant, real)
    assert d_far > 0.1 and threshold_distance(d_far) == 1.0
    assert mifid(10.0, d_far) == pytest.approx(10.0)
    assert threshold_distance(0.1) == 1.0  # strict "<"


def test_kid_sanity():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(120, 16)), rng.normal(size=(100, 16))
    shifted = rng.normal(loc=1.0, size=(100, 16))
    same, same_std = kernel_inception_distance(a, b, n_subsets=20, subset_size=50)
    far, _ = kernel_inception_distance(a, shifted, n_subsets=20, subset_size=50)
    assert abs(same) < 0.05 and same_std >= 0 and far > 10 * max(abs(same), 1e-3)
    small, small_std = kernel_inception_distance(a[:5], shifted[:5])  # tiny sets: one exact estimate
    assert np.isfinite(small) and small_std == 0.0
    assert kernel_inception_distance(a, b, seed=3) == kernel_inception_distance(a, b, seed=3)
    with pytest.raises(ValueError, match="at least 2"):
        kernel_inception_distance(a[:1], b)


# ----------------------------------------------------------------------------- images and inputs
@pytest.fixture(scope="module")
def tiny_extractor():
    """A tiny random-weights Keras model: 8×8 mean pooling, then a random linear 1×1 projection."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            keras.layers.AveragePooling2D(64),  # (B, 4, 4, 3) for 256 px
            keras.layers.Conv2D(4, 1, use_bias=False),  # (B, 4, 4, 4), linear
            keras.layers.Flatten(),  # (B, 64)
        ]
    )
    return keras_extractor(model, label="tiny test model [PROXY]", key="tiny")


def _write_images(folder, seeds, rgb_factory, size=256, fmt="jpg"):
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        Image.fromarray(rgb_factory(seed, size)).save(folder / f"img{seed:03d}.{fmt}", quality=95)
    return folder


def _zip_folder(folder, path):
    with zipfile.ZipFile(path, "w") as zf:
        for file in sorted(folder.iterdir()):
            zf.write(file, file.name)
    return path


def test_zip_folder_and_tfrecords_give_the_same_features(tmp_path, jpeg_folder, tiny_extractor):
    from stx_tf.data import write_tfrecords

    zipped = _zip_folder(jpeg_folder, tmp_path / "images.zip")
    shards = write_tfrecords(sorted(jpeg_folder.iterdir()), tmp_path / "tfrec", prefix="monet", n_shards=2)
    results = [
        extract_features(src, tiny_extractor, batch_size=4, progress=False)
        for src in (jpeg_folder, zipped, tmp_path / "tfrec")
    ]
    assert len(shards) == 2
    by_name = [dict(zip(r.names, r.features)) for r in results]
    assert sorted(by_name[0]) == sorted(by_name[1]) == sorted(by_name[2]) == [f"img{i:02d}" for i in range(6)]
    for other in by_name[1:]:
        for name, feats in by_name[0].items():
            np.testing.assert_allclose(other[name], feats, atol=1e-5)
    assert results[0].features.shape == (6, 64) and results[0].features.dtype == np.float64


def test_score_copies_penalised_distant_not(tmp_path, rgb_factory, tiny_extractor):
    real = _write_images(tmp_path / "real", range(10), rgb_factory)
    copies = _zip_folder(_write_images(tmp_path / "copies", range(4), rgb_factory), tmp_path / "copies.zip")
    distant = _write_images(tmp_path / "distant", range(100, 108), rgb_factory, fmt="png")
    kw = dict(extractor=tiny_extractor, cache=tmp_path / "cache", progress=False, kid_subsets=5)
    copied = score(copies, real, out_dir=tmp_path / "out", **kw)
    assert copied.penalised and copied.mem_distance < 0.1
    assert copied.mifid == pytest.approx(copied.fid / (copied.mem_distance + 1e-14), rel=1e-9)
    assert copied.mifid > 1e3 * copied.fid
    assert (
        copied.closest[0]["distance"] < 1e-3 and copied.closest[0]["generated"] == copied.closest[0]["real"]
    )
    far = score(distant, real, **kw)
    assert not far.penalised and far.mifid == pytest.approx(far.fid) and far.mem_distance > 0.1
    assert far.files == {} and far.n_gen == 8 and far.n_real == 10
    payload = json.loads((tmp_path / "out" / "score.json").read_text())
    assert (
        payload["mifid"] == pytest.approx(copied.mifid) and payload["extractor"] == "tiny test model [PROXY]"
    )
    assert {"kid", "kid_std", "fid", "mem_distance", "n_gen", "n_real"} <= set(payload)
    for name in ("memorisation_hist.png", "closest.png"):
        assert Image.open(tmp_path / "out" / name).size[0] > 100
    assert "MiFID" in copied.summary() and "PENALISED" in copied.summary()


def test_other_sizes_are_resized(tmp_path, rgb_factory, tiny_extractor):
    folder = tmp_path / "odd"
    folder.mkdir()
    for i, (w, h) in enumerate([(300, 200), (128, 128), (256, 256)]):
        Image.fromarray(rgb_factory(i, 320)[:h, :w]).save(folder / f"o{i}.png")
    fs = extract_features(folder, tiny_extractor, progress=False)
    assert fs.features.shape == (3, 64) and np.isfinite(fs.features).all()


def test_real_statistics_are_cached_and_invalidated(
    tmp_path, jpeg_folder, tiny_extractor, monkeypatch, rgb_factory
):
    from stx_tf.metrics import features as features_module

    cache = tmp_path / "cache"
    first = real_features(jpeg_folder, tiny_extractor, cache=cache, progress=False)
    files = list(cache.glob("*.npz"))
    assert len(files) == 1

    def boom(*args, **kwargs):
        raise AssertionError("features recomputed although cached")

    monkeypatch.setattr(features_module, "extract_features", boom)
    second = real_features(jpeg_folder, tiny_extractor, cache=cache, progress=False)
    np.testing.assert_allclose(second.features, first.features, rtol=1e-6)
    np.testing.assert_allclose(second.stats[1], first.stats[1])
    assert second.names == first.names
    monkeypatch.undo()
    Image.fromarray(rgb_factory(99)).save(jpeg_folder / "new.jpg")  # input changed: new key
    third = real_features(jpeg_folder, tiny_extractor, cache=cache, progress=False)
    assert len(third) == 7 and len(list(cache.glob("*.npz"))) == 2
    limited = real_features(jpeg_folder, tiny_extractor, cache=cache, progress=False, limit=3)
    assert limited.names == third.names[:3] and len(list(cache.glob("*.npz"))) == 3


# ---------------------------------------------------------------------------------------- bad input
def test_bad_inputs(tmp_path, rgb_factory, tiny_extractor):
    one = _write_images(tmp_path / "one", [1], rgb_factory)
    two = _write_images(tmp_path / "two", [1, 2], rgb_factory)
    with pytest.raises(ValueError, match="at least 2"):
        score(one, two, extractor=tiny_extractor, cache=False, progress=False)
    bad_zip = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad_zip, "w") as zf:
        zf.writestr("a.jpg", Image.fromarray(rgb_factory(1)).tobytes()[:100])
        zf.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match="bad.zip"):
        score(bad_zip, two, extractor=tiny_extractor, cache=False, progress=False)
    with pytest.raises(ValueError, match="no such file"):
        score(tmp_path / "missing.zip", two, extractor=tiny_extractor, cache=False, progress=False)


def test_missing_weights_files_say_how_to_provide_one(tmp_path):
    from stx_tf.metrics import get_extractor

    for name in ("fid_inception", "inception", "graphdef", "squeezenet"):
        with pytest.raises(ValueError, match="--weights PATH|weights=PATH|STX_"):
            get_extractor(name, weights=tmp_path / "nope.h5")
    with pytest.raises(ValueError, match="unknown feature extractor"):
        get_extractor("vgg")
    not_a_graph = tmp_path / "x.pb"
    not_a_graph.write_bytes(b"\x00garbage\xff" * 10)
    with pytest.raises(ValueError, match="x.pb"):
        graphdef_extractor(not_a_graph)


# ---------------------------------------------------------------------------------------- extractors
@pytest.fixture(scope="module")
def fake_graphdef(tmp_path_factory):
    """A stand-in for classify_image_graph_def.pb: same tensor names, a tiny conv instead of Inception."""
    import tensorflow as tf

    path = tmp_path_factory.mktemp("graph") / "classify_image_graph_def.pb"
    kernel = np.random.default_rng(0).normal(size=(3, 3, 3, 8)).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default():
        contents = tf.compat.v1.placeholder(tf.string, shape=[], name="DecodeJpeg/contents")
        decoded = tf.image.decode_jpeg(contents, channels=3, name="DecodeJpeg")
        batch = tf.expand_dims(tf.cast(decoded, tf.float32, name="Cast"), 0, name="ExpandDims")
        resized = tf.raw_ops.ResizeBilinear(images=batch, size=[299, 299], name="ResizeBilinear")
        conv = tf.nn.conv2d((resized - 128.0) / 128.0, kernel, strides=8, padding="VALID")
        tf.reduce_mean(conv, axis=[1, 2], keepdims=True, name="pool_3")  # (B, 1, 1, 8)
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path, kernel


def test_graphdef_adapter_feeds_expanddims_batches(fake_graphdef):
    import tensorflow as tf

    path, kernel = fake_graphdef
    ext = graphdef_extractor(path)
    images = np.random.default_rng(1).uniform(-1, 1, (3, 256, 256, 3)).astype(np.float32)
    feats = ext(images)
    pixels = (images + 1.0) * 127.5
    resized = tf.compat.v1.image.resize_bilinear(pixels, [299, 299], align_corners=False)
    conv = tf.nn.conv2d((resized - 128.0) / 128.0, kernel, strides=8, padding="VALID")
    expected = tf.reduce_mean(conv, axis=[1, 2]).numpy()
    assert feats.shape == (3, 8) and ext.dim == 8 and ext.competition_metric
    np.testing.assert_allclose(feats, expected, rtol=1e-4, atol=1e-4)


def test_inception_v3_random_weights_is_labelled_2048d():
    from stx_tf.metrics import inception_v3

    ext = inception_v3(weights=None)
    feats = ext(np.zeros((2, 256, 256, 3), np.float32))
    assert feats.shape == (2, 2048) and ext.dim == 2048
    assert "random weights" in ext.label and not ext.competition_metric
    assert "not Kaggle's" in ext.label  # Keras' ImageNet InceptionV3 is never the competition's network


def test_inception_v3_given_kaggles_graphdef_runs_the_graph(fake_graphdef):
    from stx_tf.metrics import inception_v3

    ext = inception_v3(fake_graphdef[0])  # STX_INCEPTION_WEIGHTS=classify_image_graph_def.pb
    assert ext.competition_metric and "GraphDef" in ext.label and ext.dim == 8


def test_squeezenet_proxy_is_labelled(squeezenet_weights):
    from stx_tf.metrics import squeezenet_proxy

    ext = squeezenet_proxy(squeezenet_weights)
    feats = ext(np.zeros((2, 256, 256, 3), np.float32))
    assert feats.shape == (2, 512) and "PROXY" in ext.label and not ext.competition_metric


def test_auto_extractor_falls_back_to_labelled_random_weights(monkeypatch):
    from stx_tf import backbones
    from stx_tf.metrics import auto_extractor

    real_resolve = backbones.resolve_weights

    def offline(name, weights="imagenet"):  # like a machine without network and without a local file
        if weights is None:
            return real_resolve(name, None)
        raise RuntimeError("no network")

    envs = ("STX_SMOKE", "STX_SQUEEZENET_WEIGHTS", "STX_INCEPTION_WEIGHTS", "STX_FID_INCEPTION_WEIGHTS")
    for env in envs + ("KAGGLE_KERNEL_RUN_TYPE",):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setattr(backbones, "resolve_weights", offline)
    ext = auto_extractor()
    assert "RANDOM WEIGHTS" in ext.label and "PROXY" in ext.label and not ext.competition_metric


# ----------------------------------------------------------------------------------------------- CLI
def test_cli_score(tmp_path, jpeg_folder, fake_graphdef, capsys, rgb_factory):
    from stx_tf.cli import main

    generated = _zip_folder(
        _write_images(tmp_path / "gen", range(20, 24), rgb_factory), tmp_path / "images.zip"
    )
    out = tmp_path / "report"
    args = ["score", str(generated), "--real", str(jpeg_folder), "--extractor", "graphdef"]
    code = main(
        args + ["--weights", str(fake_graphdef[0]), "--out", str(out), "--cache", str(tmp_path), "-q"]
    )
    printed = capsys.readouterr().out
    assert code == 0
    for word in ("MiFID", "FID", "memorisation", "KID"):
        assert word in printed
    assert {p.name for p in out.iterdir()} >= {"score.json", "memorisation_hist.png", "closest.png"}
    assert json.loads((out / "score.json").read_text())["n_gen"] == 4
    code = main(args + ["--weights", str(tmp_path / "missing.pb"), "--out", str(out), "-q"])
    assert code == 2 and "STX_INCEPTION_WEIGHTS" in capsys.readouterr().err
