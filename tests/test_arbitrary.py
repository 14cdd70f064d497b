"""stx_tf.arbitrary: a tiny fake TFLite pair and fake SavedModels written here (no network), then the
real Magenta TFLite pair of ``../shared`` (skipped without it)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stx_tf import arbitrary
from stx_tf.arbitrary import models
from stx_tf.arbitrary.paint import StyleCache, _padded, style_square
from stx_tf.cli import main

tf = pytest.importorskip("tensorflow")

SIDE, DIM = 32, 8  # the fakes' declared transfer input side and style-vector length


class FakeNets(tf.Module):
    """Magenta's shapes in miniature: predictor (1, 256, 256, 3) -> (1, 1, 1, DIM); transfer net with two
    stride-2 convolutions, a style-conditioned instance norm and two nearest-neighbour upsamplings to
    constant sizes (what the TFLite file stores), a sigmoid output."""

    def __init__(self, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)

        def var(*shape, scale=0.5):
            return tf.Variable(rng.normal(0, scale, shape).astype(np.float32))

        self.p1, self.p2, self.pb = var(3, 3, 3, 6), var(1, 1, 6, DIM), var(DIM)
        self.c1, self.c2, self.c3, self.c4 = (
            var(3, 3, 3, 6),
            var(3, 3, 6, 6),
            var(3, 3, 6, 6),
            var(3, 3, 6, 3),
        )
        self.gamma, self.beta = var(1, 1, DIM, 6, scale=0.3), var(1, 1, DIM, 6, scale=0.3)

    def predict(self, style, bottleneck_name="mobilenet_conv/Conv"):
        x = tf.nn.relu(tf.nn.conv2d(style, self.p1, 4, "SAME"))
        x = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
        with tf.name_scope(bottleneck_name):
            return tf.nn.bias_add(tf.nn.conv2d(x, self.p2, 1, "SAME"), self.pb, name="BiasAdd")

    def transfer(self, content, vector, sizes=None):
        height, width = sizes or (tf.shape(content)[1], tf.shape(content)[2])
        x = tf.nn.relu(tf.nn.conv2d(content, self.c1, 2, "SAME"))
        x = tf.nn.conv2d(x, self.c2, 2, "SAME")
        mean, var = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        gamma = 1.0 + tf.nn.conv2d(vector, self.gamma, 1, "SAME")
        x = tf.nn.relu(
            (x - mean) * tf.math.rsqrt(var + 1e-3) * gamma + tf.nn.conv2d(vector, self.beta, 1, "SAME")
        )
        x = tf.image.resize(x, [height // 2, width // 2], method="nearest")
        x = tf.nn.relu(tf.nn.conv2d(x, self.c3, 1, "SAME"))
        x = tf.image.resize(x, [height, width], method="nearest")
        return tf.sigmoid(tf.nn.conv2d(x, self.c4, 1, "SAME") + 2.0 * (content - 0.5))

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3]), tf.TensorSpec([None, None, None, 3])])
    def __call__(self, content, style):
        return [self.transfer(content, self.predict(style))]


def _tflite(fn, *specs) -> bytes:
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function(*specs)])
    return converter.convert()


@pytest.fixture(scope="module")
def nets():
    return FakeNets()


def write_fake_pair(folder, nets=None):
    """A fake TFLite pair in ``folder``, named like TensorFlow Lite's example files (the web demo's tests
    use it too)."""
    nets = nets or FakeNets()
    predict = _tflite(tf.function(nets.predict), tf.TensorSpec([1, 256, 256, 3]))
    transfer = _tflite(
        tf.function(lambda c, v: nets.transfer(c, v, (SIDE, SIDE))),
        tf.TensorSpec([1, SIDE, SIDE, 3]),
        tf.TensorSpec([1, 1, 1, DIM]),
    )
    (folder / "style_predict_f16_256.tflite").write_bytes(predict)
    (folder / "style_transfer_f16_384.tflite").write_bytes(transfer)
    return folder


@pytest.fixture(scope="module")
def pair_dir(tmp_path_factory, nets):
    return write_fake_pair(tmp_path_factory.mktemp("magenta_arbitrary_style"), nets)


@pytest.fixture(scope="module")
def saved_dir(tmp_path_factory, nets):
    folder = tmp_path_factory.mktemp("arbitrary_saved") / "model"
    tf.saved_model.save(nets, str(folder))
    return folder


@pytest.fixture()
def images(rgb_factory):
    return rgb_factory(1, 64)[:48].astype(np.float32) / 255, rgb_factory(2, 80).astype(np.float32) / 255


def _square(image: np.ndarray) -> np.ndarray:
    """The prediction network's input for a float image in [0, 1]."""
    return style_square((image * 255 + 0.5).astype(np.uint8), 256)


def _painted(run, photo):
    """``run`` (a TF graph on a batch of one) as ``paint`` runs the network: reflected margin, cropped."""
    return _padded(lambda x: run(tf.constant(x[None])).numpy()[0], photo, models.StyleNetworks())


def _reference(nets, photo, vector):
    return _painted(lambda x: nets.transfer(x, tf.constant(vector.reshape(1, 1, 1, -1))), photo)


# ------------------------------------------------------------------------------------------- TFLite
def test_tflite_pair_paints_any_size_like_the_graph(pair_dir, nets, images):
    """Sizes other than the declared 32x32 give what the TF graph gives at that size (the upsampling
    constants are rewritten), and the result has the photo's size."""
    photo, style = images
    net = arbitrary.load_model(pair_dir)
    assert isinstance(net, models.TFLitePair) and net.style_size == 256
    vector = net.style_vector(_square(style))
    expected = nets.predict(tf.constant(_square(style)[None])).numpy().reshape(-1)
    np.testing.assert_allclose(vector, expected, atol=1e-4)
    for shape in ((SIDE, SIDE), (48, 64), (20, 36)):
        out = net.transfer(photo[: shape[0], : shape[1]], vector)
        assert out.shape == (*shape, 3)
        graph = nets.transfer(tf.constant(photo[None, : shape[0], : shape[1]]), vector.reshape(1, 1, 1, -1))
        np.testing.assert_allclose(out, graph.numpy()[0], atol=1e-4)
    image = arbitrary.paint(photo[:, :61], style, model=net, paint_size=None)  # 61 + 2 x 8: padded to 80
    assert image.shape == (48, 61, 3) and image.dtype == np.float32


def test_paint_keeps_the_size_of_large_photos(pair_dir, rgb_factory, monkeypatch):
    from stx_tf.arbitrary.paint import paint_shape

    assert paint_shape(768, 1024, 384) == (288, 384)  # the longer side, the photo's aspect
    assert paint_shape(100, 80, 384) == (100, 80) and paint_shape(768, 1024, None) == (768, 1024)
    net = arbitrary.load_model(pair_dir)
    seen, transfer = [], net.transfer
    monkeypatch.setattr(net, "transfer", lambda x, v: seen.append(x.shape) or transfer(x, v))
    big = rgb_factory(3, 300)[:, :250]  # uint8, 300x250: painted at 64x53, resized back
    image = arbitrary.paint(big, rgb_factory(4, 40), model=net, paint_size=64)
    assert image.shape == (300, 250, 3) and 0.0 <= image.min() <= image.max() <= 1.0
    assert seen == [(80, 72, 3)]  # 64x53, a margin of 8 px, then multiples of 4


def test_tensorflow_lite_runtime_without_litert(pair_dir, images, monkeypatch):
    import sys

    photo, style = images
    expected = models.TFLitePair(*models._pair_in(pair_dir)).transfer(photo, np.ones(DIM, np.float32))
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # not installed
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.schema_py_generated", None)
    assert models.interpreter_class() is tf.lite.Interpreter
    out = models.TFLitePair(*models._pair_in(pair_dir)).transfer(photo, np.ones(DIM, np.float32))
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_strength_blends_with_the_photos_own_style(pair_dir, nets, images):
    photo, style = images
    net = arbitrary.load_model(pair_dir)
    cache = StyleCache()
    kw = {"model": net, "paint_size": None, "cache": cache}
    own, painting = net.style_vector(_square(photo)), net.style_vector(_square(style))
    zero = arbitrary.paint(photo, style, 0.0, **kw)
    np.testing.assert_allclose(
        zero, arbitrary.paint(photo, photo, 1.0, **kw), atol=2 / 255
    )  # the photo's own
    half = arbitrary.paint(photo, style, 0.5, **kw)
    np.testing.assert_allclose(half, _reference(nets, photo, 0.5 * own + 0.5 * painting), atol=2 / 255)
    full = arbitrary.paint(photo, style, 1.0, **kw)
    assert np.abs(full - zero).mean() > 4 * np.abs(half - (full + zero) / 2).mean()  # the dial does something
    with pytest.raises(ValueError, match="strength"):
        arbitrary.paint(photo, style, 1.5, **kw)


def test_several_paintings_blend_their_vectors(pair_dir, nets, images, rgb_factory):
    photo, style = images
    other = rgb_factory(5, 70).astype(np.float32) / 255
    net = arbitrary.load_model(pair_dir)
    v1, v2 = (net.style_vector(_square(s)) for s in (style, other))
    mixed = arbitrary.paint(photo, [style, other], weights=[3, 1], model=net, paint_size=None)
    np.testing.assert_allclose(mixed, _reference(nets, photo, 0.75 * v1 + 0.25 * v2), atol=2 / 255)
    with pytest.raises(ValueError, match="weights"):
        arbitrary.paint(photo, [style, other], weights=[1], model=net)


def test_style_vectors_are_cached(pair_dir, images, tmp_path):
    photo, style = images
    painting = tmp_path / "painting.png"
    Image.fromarray((style * 255).astype(np.uint8)).save(painting)
    cache = StyleCache()
    for _ in range(3):
        arbitrary.paint(photo, painting, model=pair_dir, cache=cache)
    assert cache.predictions == 1  # one painting, predicted once
    arbitrary.paint(photo, painting.read_bytes(), 0.5, model=pair_dir, cache=cache)
    assert cache.predictions == 3  # the same painting as bytes (another key) + the photo's own vector
    Image.fromarray((style[::-1] * 255).astype(np.uint8)).save(painting)  # the file changed
    arbitrary.paint(photo, painting, model=pair_dir, cache=cache)
    assert cache.predictions == 4


def test_preserve_colors_keeps_the_photos_chrominance(pair_dir, images):
    from stx_tf.data.imageops import rgb_to_yiq

    photo, style = images
    kept = arbitrary.paint(photo, style, model=pair_dir, preserve_colors=True, paint_size=None)
    painted = arbitrary.paint(photo, style, model=pair_dir, paint_size=None)
    chroma = np.abs(rgb_to_yiq(kept)[..., 1:] - rgb_to_yiq(photo)[..., 1:])
    assert (
        np.median(chroma)
        < 0.01
        < np.median(np.abs(rgb_to_yiq(painted)[..., 1:] - rgb_to_yiq(photo)[..., 1:]))
    )
    assert (
        np.median(np.abs(rgb_to_yiq(kept)[..., 0] - rgb_to_yiq(painted)[..., 0])) < 0.01
    )  # except where RGB clips


def test_tiny_grey_and_rgba_paintings(pair_dir, images, tmp_path, rgb_factory):
    photo, _ = images
    grey, rgba, tiny = tmp_path / "grey.png", tmp_path / "rgba.png", tmp_path / "tiny.png"
    Image.fromarray(rgb_factory(6, 50)[..., 0]).save(grey)
    Image.fromarray(np.dstack([rgb_factory(7, 50), np.full((50, 50), 90, np.uint8)])).save(rgba)
    Image.fromarray(rgb_factory(8, 6)).save(tiny)
    for painting in (grey, rgba, tiny):
        assert arbitrary.paint(photo, painting, model=pair_dir).shape == photo.shape
    Image.fromarray(rgb_factory(8, 3)).save(tiny)
    with pytest.raises(ValueError, match="tiny.png.*too small"):
        arbitrary.paint(photo, tiny, model=pair_dir)
    with pytest.raises(ValueError, match="missing.jpg: no such file"):
        arbitrary.paint(photo, tmp_path / "missing.jpg", model=pair_dir)


def test_missing_and_corrupt_models(tmp_path, pair_dir, images, monkeypatch):
    photo, style = images
    monkeypatch.setenv("STX_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("STX_ARBITRARY_MODEL", raising=False)
    with pytest.raises(arbitrary.ModelNotFoundError, match="STX_ARBITRARY_MODEL") as err:
        arbitrary.find_model(download=False)
    assert "\n" not in str(err.value)  # one line
    with pytest.raises(arbitrary.ModelNotFoundError, match="nowhere: no such file"):
        arbitrary.load_model(tmp_path / "nowhere")
    broken = tmp_path / "broken_arbitrary"
    broken.mkdir()
    (broken / "style_predict_f16_256.tflite").write_bytes(b"\x00 not a flatbuffer" * 50)
    (broken / "style_transfer_f16_384.tflite").write_bytes(
        (pair_dir / "style_transfer_f16_384.tflite").read_bytes()
    )
    with pytest.raises(ValueError, match="style_predict_f16_256.tflite: not a readable TFLite model"):
        arbitrary.paint(photo, style, model=broken)
    (broken / "style_predict_f16_256.tflite").write_bytes(
        (pair_dir / "style_predict_f16_256.tflite").read_bytes()
    )
    (broken / "style_transfer_f16_384.tflite").write_bytes(
        b"\x10\x00\x00\x00TFL3" + b"\x00" * 64
    )  # truncated
    with pytest.raises(ValueError, match="style_transfer_f16_384.tflite: not a readable TFLite model"):
        arbitrary.paint(photo, style, model=models.TFLitePair(*models._pair_in(broken)))
    # found by the environment variable, or as an "arbitrary" folder of the models folder
    monkeypatch.setenv("STX_ARBITRARY_MODEL", str(pair_dir / "style_predict_f16_256.tflite"))
    assert arbitrary.find_model(download=False) == pair_dir
    monkeypatch.delenv("STX_ARBITRARY_MODEL")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "magenta_arbitrary_style").symlink_to(pair_dir)
    assert arbitrary.find_model(download=False) == tmp_path / "models" / "magenta_arbitrary_style"


# -------------------------------------------------------------------------------------- SavedModel
def test_saved_model_is_split_at_the_bottleneck(saved_dir, pair_dir, images):
    photo, style = images
    net = arbitrary.load_model(saved_dir)
    assert isinstance(net, models.SavedModelPair) and net.splits
    one_call = np.asarray(net.module(tf.constant(photo[None]), tf.constant(_square(style)[None]))[0])[0]
    np.testing.assert_allclose(net.stylize(photo, _square(style)), one_call, atol=1e-5)
    from_saved = arbitrary.paint(photo, style, 0.7, model=net, paint_size=None)
    from_tflite = arbitrary.paint(photo, style, 0.7, model=pair_dir, paint_size=None)
    np.testing.assert_allclose(from_saved, from_tflite, atol=2 / 255)  # same networks, two file formats


def test_saved_model_bottleneck_found_by_shape_and_unsplittable_fallback(tmp_path, images):
    photo, style = images

    class Renamed(FakeNets):
        @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3]), tf.TensorSpec([1, None, None, 3])])
        def __call__(self, content, style):
            return [self.transfer(content, self.predict(style, bottleneck_name="style_code"))]

    class Flat(FakeNets):  # the style image also reaches the output beside the vector: cannot be split
        @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3]), tf.TensorSpec([1, None, None, 3])])
        def __call__(self, content, style):
            tint = tf.reshape(tf.reduce_mean(style, axis=[1, 2]), [1, 1, 1, 3])
            return [self.transfer(content, self.predict(style)) * 0.9 + 0.1 * tint]

    tf.saved_model.save(Renamed(), str(tmp_path / "renamed"))
    assert arbitrary.load_model(tmp_path / "renamed").splits
    flat_nets = Flat()
    tf.saved_model.save(flat_nets, str(tmp_path / "flat"))
    flat = arbitrary.load_model(tmp_path / "flat")
    assert not flat.splits
    image = arbitrary.paint(photo, style, model=flat, paint_size=None)
    square = tf.constant(_square(style)[None])
    np.testing.assert_allclose(image, _painted(lambda x: flat_nets(x, square)[0], photo), atol=2 / 255)
    with pytest.raises(ValueError, match="strength and several paintings need"):
        arbitrary.paint(photo, style, 0.5, model=flat)


def test_saved_model_with_a_signature_only(tmp_path, nets, images):
    """A SavedModel that is not callable but has one signature (keyword inputs, a dict of outputs)."""
    photo, style = images
    holder = tf.Module()
    holder.nets = nets
    spec = tf.TensorSpec([None, None, None, 3])
    stylize = tf.function(lambda content, style: {"image": nets.transfer(content, nets.predict(style))})
    signature = stylize.get_concrete_function(spec, spec)
    tf.saved_model.save(holder, str(tmp_path / "sig_arbitrary"), signatures={"serving_default": signature})
    net = arbitrary.load_model(tmp_path / "sig_arbitrary")
    assert isinstance(net, models.SavedModelPair) and net.splits
    expected = nets(tf.constant(photo[None]), tf.constant(_square(style)[None]))[0].numpy()[0]
    np.testing.assert_allclose(net.stylize(photo, _square(style)), expected, atol=1e-5)
    net.splits = False  # the one-call path, with keywords
    np.testing.assert_allclose(net.stylize(photo, _square(style)), expected, atol=1e-5)


def test_corrupt_saved_model(tmp_path, images):
    folder = tmp_path / "bad_arbitrary"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable SavedModel"):
        arbitrary.paint(*images, model=folder)


# --------------------------------------------------------------------------------------------- faces
def test_cli_instant_and_gatys_from_instant(pair_dir, tmp_path, rgb_factory, capsys):
    photo, a, b = tmp_path / "photo.jpg", tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(rgb_factory(1, 120)[:90]).save(photo)
    Image.fromarray(rgb_factory(2, 64)).save(a)
    Image.fromarray(rgb_factory(3, 64)).save(b)
    out = tmp_path / "out.png"
    args = [
        "stylize",
        str(photo),
        str(a),
        str(b),
        "-o",
        str(out),
        "--method",
        "instant",
        "--model",
        str(pair_dir),
    ]
    assert main(args + ["--strength", "0.6", "--style-weights", "2", "1"]) == 0
    assert Image.open(out).size == (120, 90) and "instant" in capsys.readouterr().out
    gatys = ["stylize", str(photo), str(a), "-o", str(out), "--init", "instant", "--model", str(pair_dir)]
    gatys += [
        "--backbone",
        "squeezenet",
        "--weights",
        "none",
        "--max-dim",
        "48",
        "--steps-per-epoch",
        "2",
        "--epochs",
        "1",
        "-q",
    ]
    assert main(gatys) == 0 and Image.open(out).size == (48, 36)
    assert main(args[:3] + ["-o", str(out), "--method", "instant", "--model", str(tmp_path / "none")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_gatys_init_instant_starts_from_the_instant_painting(pair_dir, rgb_factory):
    from stx_tf import nst
    from stx_tf.nst.procedure import _initial_image

    photo, style = rgb_factory(1, 48).astype(np.float32) / 255, rgb_factory(2, 48).astype(np.float32) / 255
    cfg = nst.StylizeConfig(backbone="squeezenet", weights=None, init="instant", instant_model=str(pair_dir))
    start = _initial_image(cfg.resolved(), photo, [style], None, None)
    np.testing.assert_allclose(
        start, arbitrary.paint(photo, style, model=pair_dir, paint_size=None), atol=1e-6
    )


# ---------------------------------------------------------------------------------------- real model
@pytest.fixture(scope="module")
def magenta(shared_dir):
    folder = shared_dir / "weights" / "magenta_arbitrary_style"
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    return folder


def test_real_model_paints_in_the_paintings_palette(magenta, shared_dir):
    photo = shared_dir / "data" / "content" / "neural-style__tubingen.jpg"
    painting = shared_dir / "data" / "styles" / "neural-style__starry_night.jpg"
    from stx_tf.data.images import load_image

    image = arbitrary.paint(photo, painting, model=magenta)
    original, style = load_image(photo), load_image(painting)
    assert image.shape == original.shape == (768, 1024, 3)
    # nearer the painting's colours than the photo was, and still the photo's layout
    assert (
        np.abs(image.mean((0, 1)) - style.mean((0, 1))).sum()
        < np.abs(original.mean((0, 1)) - style.mean((0, 1))).sum()
    )
    grey = [
        np.asarray(Image.fromarray((x * 255).astype(np.uint8)).convert("L").resize((64, 48)), float)
        for x in (image, original)
    ]
    assert np.corrcoef(grey[0].ravel(), grey[1].ravel())[0, 1] > 0.5
    own = arbitrary.paint(photo, painting, 0.0, model=magenta)  # strength 0: the photo's own style

    def colours(x):  # the 32x24 colour layout, free of the brush strokes' detail
        return (
            np.asarray(Image.fromarray((x * 255).astype(np.uint8)).resize((32, 24), Image.BOX), float) / 255
        )

    assert (
        np.abs(colours(own) - colours(original)).mean()
        < 0.8 * np.abs(colours(image) - colours(original)).mean()
    )
