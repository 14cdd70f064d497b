"""Feature extractors for FID / MiFID / KID: batches of ``[-1, 1]`` images in, feature rows out.

Three kinds, one interface (:class:`FeatureExtractor`):

* :func:`inception_v3` - Keras ``InceptionV3(include_top=False, pooling="avg")``, 2048-d, the network
  FID is defined with (Szegedy et al. 2015, https://arxiv.org/abs/1512.00567). Weights: ``"imagenet"``
  (downloaded by Keras, e.g. on Kaggle), or a local ``..._notop.h5`` given as argument or through
  ``STX_INCEPTION_WEIGHTS``. Keras' ImageNet weights are *not* the 2015 graph Kaggle scores with, so
  values are close to, not identical with, Kaggle's.
* :func:`graphdef_extractor` - the TF GraphDef ``classify_image_graph_def.pb`` that Kaggle's scorer (and
  the original TTUR FID code) runs: batches are fed to ``ExpandDims:0`` as float ``0..255`` and
  ``pool_3:0`` is read. This reproduces Kaggle's number when you have that file.
* :func:`keras_extractor` - any Keras model (e.g. :func:`squeezenet_proxy`, a labelled *proxy* where
  InceptionV3 weights are unavailable). Proxy scores are NOT the competition's metric and are labelled so.

**Resize filter.** Images arrive ``256×256`` (:func:`stx_tf.data.load_images`; other sizes are resized,
shorter side then centre crop). InceptionV3 needs ``299×299``; the filter changes FID noticeably, so we use
exactly what Kaggle's GraphDef does internally: TF1 ``ResizeBilinear`` (``align_corners=False``,
``half_pixel_centers=False``), on ``0..255`` values, no antialiasing. The SqueezeNet proxy runs on the
``256×256`` images as they are (no resize).
"""

from __future__ import annotations

import dataclasses
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


@dataclasses.dataclass(frozen=True)
class FeatureExtractor:
    """A callable mapping float32 ``(B, H, W, 3)`` images in ``[-1, 1]`` to ``(B, D)`` float64 features.

    Attributes:
        label: human-readable name printed with every score (says "PROXY" for proxies).
        fn: the batched function (images tensor -> features tensor).
        dim: feature dimension ``D``.
        competition_metric: True only for InceptionV3-pool features (what Kaggle scores with).
        key: short identifier used in cache keys (changes when weights change).
    """

    label: str
    fn: Callable
    dim: int
    competition_metric: bool = False
    key: str = ""

    def __call__(self, images) -> np.ndarray:
        out = np.asarray(self.fn(tf.convert_to_tensor(images, tf.float32)))
        return out.reshape(out.shape[0], -1).astype(np.float64)


def resize_bilinear_legacy(images: tf.Tensor, size: int) -> tf.Tensor:
    """TF1 ``ResizeBilinear`` (no half-pixel centres, no antialias) - the op inside Kaggle's GraphDef."""
    if images.shape[1] == size and images.shape[2] == size:
        return images
    return tf.raw_ops.ResizeBilinear(
        images=images, size=[size, size], align_corners=False, half_pixel_centers=False
    )


def _to_255(images: tf.Tensor) -> tf.Tensor:
    return (images + 1.0) * 127.5


#: Preprocessing from ``[-1, 1]`` images, by Keras application convention.
PREPROCESS = {
    "tf": lambda x: x,  # InceptionV3 / MobileNet: [-1, 1]
    "torch": lambda x: (
        ((x + 1.0) * 0.5 - tf.constant([0.485, 0.456, 0.406])) / tf.constant([0.229, 0.224, 0.225])
    ),
    "caffe": lambda x: _to_255(x)[..., ::-1] - tf.constant([103.939, 116.779, 123.68]),
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
    """Wrap any Keras model as a feature extractor.

    Args:
        model: a Keras model taking ``(B, H, W, 3)`` images; 4-D outputs are global-average pooled.
        label: what the scores are labelled with (say so when it is a proxy).
        input_size: resize to this square side first (legacy bilinear, see module docs); ``None`` keeps 256.
        preprocess: ``"tf"`` ([-1, 1]), ``"torch"``, ``"caffe"`` (BGR minus ImageNet mean, 0..255),
            ``"unit"`` ([0, 1]), ``"255"``, a callable on ``[-1, 1]`` tensors, or ``None`` (same as ``"tf"``).
        competition_metric: mark InceptionV3-pool features.
        key: cache-key identifier (defaults to the label).
    """
    if preprocess is None:
        preprocess = "tf"
    if isinstance(preprocess, str):
        if preprocess not in PREPROCESS:
            raise ValueError(f"unknown preprocessing {preprocess!r}; choose one of {sorted(PREPROCESS)}")
        preprocess = PREPROCESS[preprocess]

    @tf.function(reduce_retracing=True)
    def fn(images):
        if input_size:
            images = resize_bilinear_legacy(images, input_size)  # linear: same as resizing 0..255 values
        out = model(preprocess(images), training=False)
        if len(out.shape) == 4:
            out = tf.reduce_mean(out, axis=[1, 2])
        if len(out.shape) > 2:
            out = tf.reshape(out, [tf.shape(out)[0], -1])
        return out

    dim = fn.get_concrete_function(tf.TensorSpec([None, 256, 256, 3], tf.float32)).output_shapes.as_list()[-1]
    return FeatureExtractor(
        label=label, fn=fn, dim=dim, competition_metric=competition_metric, key=key or label
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
    """Keras InceptionV3 pool features (2048-d, 299×299 input, legacy-bilinear resize).

    Args:
        weights: ``"auto"`` (``STX_INCEPTION_WEIGHTS`` if set, else ``"imagenet"``), ``"imagenet"``
            (Keras download), a path to a local ``inception_v3_..._notop.h5``, or ``None`` for random
            weights (benchmarks and tests only - the label says so).

    Raises:
        ValueError: the weights file is missing or ImageNet weights cannot be downloaded.
    """
    import keras

    if weights == "auto":
        weights = settings.weights_file("inception_v3") or "imagenet"
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
        label=f"InceptionV3 pool_3 2048-d (Keras, {source})",
        input_size=INCEPTION_SIZE,
        preprocess="tf",
        competition_metric=weights is not None,
        key=f"inception_v3:{_weights_key(weights)}",
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
        key=f"graphdef:{_weights_key(path)}",
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
        key=f"squeezenet:{_weights_key(path)}",
    )


def auto_extractor() -> FeatureExtractor:
    """The best extractor available here, never failing (for notebooks):

    1. InceptionV3 when a local file is set (``STX_INCEPTION_WEIGHTS``) or on Kaggle (``imagenet``),
       except in smoke mode;
    2. else the SqueezeNet proxy with ImageNet weights (``STX_SQUEEZENET_WEIGHTS``, or a download
       outside smoke mode);
    3. else the SqueezeNet proxy with random weights - labelled as a pipeline check whose numbers
       mean nothing.
    """
    if not settings.smoke_mode() and (settings.weights_file("inception_v3") or settings.on_kaggle()):
        try:
            return inception_v3("auto")
        except ValueError as err:
            log.warning("InceptionV3 unavailable (%s); falling back to the SqueezeNet proxy", err)
    if settings.smoke_mode() and settings.weights_file("squeezenet") is None:
        log.warning("smoke mode without STX_SQUEEZENET_WEIGHTS: RANDOM weights, the scores mean nothing")
    else:
        try:
            return squeezenet_proxy("auto")
        except ValueError as err:
            log.warning("SqueezeNet weights unavailable (%s); RANDOM weights: the scores mean nothing", err)
    ext = squeezenet_proxy(None)
    return dataclasses.replace(
        ext, label=f"{ext.label} [RANDOM WEIGHTS: a pipeline check, the numbers mean nothing]"
    )


#: Names accepted by :func:`get_extractor` (and ``stx score --extractor``).
EXTRACTORS = ("inception", "graphdef", "squeezenet", "auto")


def get_extractor(extractor="inception", weights="auto") -> FeatureExtractor:
    """Resolve an extractor name (or pass through a :class:`FeatureExtractor` / Keras model).

    Args:
        extractor: ``"inception"``, ``"graphdef"`` (needs ``weights`` = the ``.pb`` path or
            ``STX_INCEPTION_WEIGHTS``), ``"squeezenet"`` (proxy), ``"auto"`` (:func:`auto_extractor`),
            a :class:`FeatureExtractor`, or a Keras model (labelled with its name).
        weights: weights for the named extractors (see each factory); ``"auto"`` resolves the default.
    """
    if isinstance(extractor, FeatureExtractor):
        return extractor
    if not isinstance(extractor, str):
        name = getattr(extractor, "name", type(extractor).__name__)
        return keras_extractor(extractor, label=f"Keras model {name!r} [{PROXY_WARNING}]")
    name = extractor.lower()
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
