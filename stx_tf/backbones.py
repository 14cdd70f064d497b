"""Frozen ImageNet feature networks for perceptual losses and feature statistics.

Two backbones, both taking float images in ``[0, 1]`` of shape ``(B, H, W, 3)`` (any ``H, W``) with their
Caffe-style preprocessing (RGB->BGR, ImageNet mean subtracted on 0-255 pixels) done inside the model:

* ``"vgg19"``: VGG19 (Simonyan & Zisserman, https://arxiv.org/abs/1409.1556), the network of the
  Gatys et al. paper (https://arxiv.org/abs/1508.06576). Built by ``keras.applications.VGG19``.
* ``"squeezenet"``: SqueezeNet v1.1 (Iandola et al., https://arxiv.org/abs/1602.07360), 3 MB and about
  ten times faster on a CPU. The architecture is defined here; the weights are read from the Keras HDF5
  layout of ``squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5`` (layer groups ``conv1``,
  ``fire2/squeeze1x1``, ``fire2/expand1x1`` ... each holding a HWIO kernel and a bias). A fire module's
  output (``"fire2"`` ...) is the concatenation of its two expand convolutions.

Weights (one resolver, :func:`resolve_weights`): ``"imagenet"`` (the file named by
``STX_VGG19_WEIGHTS`` / ``STX_SQUEEZENET_WEIGHTS`` when set, else downloaded to ``~/.keras/models``),
a local file path, or ``None`` (random initialisation, for tests and smoke runs).

Typical use::

    from stx_tf import backbones
    model = backbones.feature_extractor("squeezenet", weights="imagenet")   # default style+content layers
    feats = model(images)                     # {"conv1": (B,h,w,64), ..., "fire6": (B,h,w,384)}
    pooled = backbones.pooled_features("squeezenet", weights=path)          # (B, 512) per image
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
from keras import layers, ops

from stx_tf import settings

log = settings.get_logger("stx_tf.backbones")

#: ImageNet channel means (BGR order, 0-255 pixels) of the Caffe-trained networks.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@dataclass(frozen=True)
class BackboneInfo:
    """What the package knows about one backbone."""

    style_layers: tuple[str, ...]
    content_layers: tuple[str, ...]
    last_layer: str
    weights_file: str
    weights_url: str
    md5: str | None = None
    #: total stride of the deepest default layer, and the input sizes (mod ``stride``) whose every
    #: pixel reaches those layers (valid convolutions and pools drop the last rows/columns otherwise).
    stride: int = 16
    covered_residues: tuple[int, ...] = (0,)


BACKBONES = {
    "vgg19": BackboneInfo(
        style_layers=("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"),
        content_layers=("block4_conv2",),
        last_layer="block5_conv4",
        weights_file="vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_url="https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        md5="253f8cb515780f3b799900260a226db6",
    ),
    "squeezenet": BackboneInfo(
        style_layers=("conv1", "fire2", "fire3", "fire5", "fire7"),
        content_layers=("fire6",),
        last_layer="fire9",
        weights_file="squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_url="https://github.com/rcmalli/keras-squeezenet/releases/download/v1.0/"
        "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5",
        # conv1 and the three 3x3/2 max-pools are "valid": 16k-1 loses nothing, 16k only the last pixel.
        covered_residues=(0, 15),
    ),
}

#: SqueezeNet v1.1 fire modules: (name, squeeze filters, expand filters per branch, max-pool after).
SQUEEZENET_FIRES = (
    ("fire2", 16, 64, False),
    ("fire3", 16, 64, True),
    ("fire4", 32, 128, False),
    ("fire5", 32, 128, True),
    ("fire6", 48, 192, False),
    ("fire7", 48, 192, False),
    ("fire8", 64, 256, False),
    ("fire9", 64, 256, False),
)


class WeightsUnavailableError(RuntimeError, ValueError):
    """ImageNet weights could not be downloaded (also a ``ValueError``, so the CLI prints one clean line)."""


def _info(name: str) -> BackboneInfo:
    key = str(name).lower()
    if key not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    return BACKBONES[key]


def default_layers(name: str = "vgg19") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(style_layers, content_layers)`` used by default for backbone ``name``."""
    info = _info(name)
    return info.style_layers, info.content_layers


# ------------------------------------------------------------------------------------------- weights
def cover_padding(name: str, size: int) -> int:
    """Rows (or columns) to add below (right of) an image side of ``size`` pixels so that every pixel
    reaches the deepest default layers of backbone ``name``.

    Strided valid convolutions and pools ignore the last rows and columns of inputs of other sizes:
    a 405-pixel-wide image loses about 9 columns in SqueezeNet's ``fire7``, which the style loss then
    never paints (a stripe of photo along the edge). Reflect-padding by this amount avoids it.
    """
    info = _info(name)
    return next(p for p in range(info.stride) if (size + p) % info.stride in info.covered_residues)


def resolve_weights(name: str, weights="imagenet") -> Path | None:
    """Turn a ``weights`` argument into a local file (or ``None`` for random weights).

    Args:
        name: ``"vgg19"`` or ``"squeezenet"``.
        weights: ``None``; a path to a weights file; or ``"imagenet"``, which uses the file named by the
            backbone's environment variable (``STX_VGG19_WEIGHTS`` / ``STX_SQUEEZENET_WEIGHTS``) when set,
            and otherwise downloads the published file (cached in ``~/.keras/models``).

    Raises:
        ValueError: a named file does not exist.
        WeightsUnavailableError: (a ``RuntimeError`` and ``ValueError``) the download failed; the message
            says how to point at a local file.
    """
    info = _info(name)
    if weights is None:
        return None
    env = settings.WEIGHTS_ENV[name.lower()]
    if isinstance(weights, str) and weights.lower() == "imagenet":
        local = settings.weights_file(name.lower())
        if local is not None:
            if not local.is_file():
                raise ValueError(f"{env}={local}: no such weights file")
            return local
        try:
            path = keras.utils.get_file(
                info.weights_file, info.weights_url, cache_subdir="models", file_hash=info.md5
            )
        except Exception as err:  # no network, proxy, bad hash ...
            raise WeightsUnavailableError(
                f"could not download the {name} ImageNet weights from {info.weights_url} ({err}). "
                f"Download {info.weights_file} elsewhere and pass its path as weights=PATH "
                f"(CLI: --weights PATH) or set the environment variable {env}=PATH; "
                "weights=None uses random weights."
            ) from err
        return Path(path)
    path = Path(weights).expanduser()
    if not path.is_file():
        raise ValueError(f"{name} weights: no such file {path} (expected a Keras HDF5 'notop' weights file)")
    return path


def load_squeezenet_weights(model: keras.Model, path) -> keras.Model:
    """Load SqueezeNet v1.1 weights from the Keras HDF5 layout into ``model`` (by layer name).

    The file holds one group per layer with a ``weight_names`` attribute listing its datasets (kernel
    then bias), e.g. ``fire2/expand3x3/uniform4`` and ``fire2/expand3x3/fire2/expand3x3_b``. Our layers are
    named with ``_`` where the file has ``/`` (Keras 3 forbids ``/`` in names). Files written by
    ``model.save_weights("x.weights.h5")`` (Keras 3 format) are loaded with ``model.load_weights``.
    """
    import h5py

    path = Path(path)
    if path.name.endswith(".weights.h5"):
        model.load_weights(path)
        return model
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path}: not a readable HDF5 weights file ({err})") from err
    with handle:
        root = handle["model_weights"] if "model_weights" in handle else handle
        for layer in model.layers:
            if not layer.weights:
                continue
            group_name = layer.name.replace("_", "/", 1) if layer.name.startswith("fire") else layer.name
            if group_name not in root:
                raise ValueError(f"{path}: no weights for layer {group_name!r} (not a SqueezeNet v1.1 file?)")
            group = root[group_name]
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]]
            missing = [n for n in names if n not in group]
            if missing:
                raise ValueError(f"{path}: layer {group_name!r} lacks the weight datasets {missing}")
            values = [group[n][()] for n in names]
            expected = [tuple(w.shape) for w in layer.weights]
            if [v.shape for v in values] != expected:
                raise ValueError(
                    f"{path}: layer {group_name!r} has shapes {[v.shape for v in values]}, expected {expected}"
                )
            layer.set_weights(values)
    return model


# -------------------------------------------------------------------------------------------- models
@keras.saving.register_keras_serializable(package="stx_tf")
class CaffePreprocess(layers.Layer):
    """``[0, 1]`` RGB (or ``[-1, 1]`` with ``signed=True``) -> Caffe input: 0-255 BGR minus ImageNet mean."""

    def __init__(self, signed: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.signed = signed

    def call(self, images):  # (B, H, W, 3) -> (B, H, W, 3)
        x = ops.cast(images, self.compute_dtype)
        x = (x + 1.0) * 127.5 if self.signed else x * 255.0
        x = ops.flip(x, axis=-1)  # RGB -> BGR
        return x - ops.convert_to_tensor(CAFFE_MEAN_BGR, dtype=x.dtype)

    def get_config(self):
        return {**super().get_config(), "signed": self.signed}


def _fire(x, name: str, squeeze: int, expand: int):
    """SqueezeNet fire module: 1x1 squeeze, then 1x1 and 3x3 expands concatenated."""
    s = layers.Conv2D(squeeze, 1, activation="relu", name=f"{name}_squeeze1x1")(x)  # (B, h, w, squeeze)
    e1 = layers.Conv2D(expand, 1, activation="relu", name=f"{name}_expand1x1")(s)  # (B, h, w, expand)
    e3 = layers.Conv2D(expand, 3, padding="same", activation="relu", name=f"{name}_expand3x3")(s)
    return layers.Concatenate(name=name)([e1, e3])  # (B, h, w, 2·expand)


def squeezenet(weights="imagenet", input_shape=(None, None, 3), signed: bool = False) -> keras.Model:
    """SqueezeNet v1.1 without classifier, frozen, preprocessing inside: ``(B,H,W,3)`` -> ``(B,h,w,512)``.

    Args:
        weights: ``"imagenet"``, a local HDF5 file, or ``None`` (see :func:`resolve_weights`).
        input_shape: image shape, ``None`` for any size.
        signed: inputs in ``[-1, 1]`` instead of ``[0, 1]``.
    """
    path = resolve_weights("squeezenet", weights)
    inputs = keras.Input(shape=input_shape, name="image")  # (B, H, W, 3) in [0, 1]
    x = CaffePreprocess(signed=signed, name="preprocess")(inputs)
    x = layers.Conv2D(64, 3, strides=2, activation="relu", name="conv1")(x)  # (B, H/2, W/2, 64)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)  # (B, H/4, W/4, 64)
    for name, squeeze, expand, pool in SQUEEZENET_FIRES:
        x = _fire(x, name, squeeze, expand)
        if pool:
            x = layers.MaxPooling2D(3, strides=2, name=f"pool{name[-1]}")(x)
    model = keras.Model(inputs, x, name="squeezenet_v1_1")  # (B, H/16, W/16, 512)
    if path is not None:
        load_squeezenet_weights(model, path)
    model.trainable = False
    return model


def vgg19(weights="imagenet", input_shape=(None, None, 3), signed: bool = False) -> keras.Model:
    """VGG19 without classifier (``keras.applications.VGG19``), frozen, preprocessing inside.

    ``(B, H, W, 3)`` in ``[0, 1]`` -> ``(B, H/32, W/32, 512)``. ``weights`` as in :func:`resolve_weights`;
    files in the Keras ``notop`` layout (legacy ``.h5`` or Keras 3 ``.weights.h5``).
    """
    path = resolve_weights("vgg19", weights)
    inputs = keras.Input(shape=input_shape, name="image")
    x = CaffePreprocess(signed=signed, name="preprocess")(inputs)
    try:
        base = keras.applications.VGG19(
            include_top=False, weights=None if path is None else str(path), input_tensor=x
        )
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot load VGG19 notop weights ({err})") from err
    model = keras.Model(inputs, base.output, name="vgg19")  # single input, not a list
    model.trainable = False
    return model


_BUILDERS = {"vgg19": vgg19, "squeezenet": squeezenet}


def build(name: str = "vgg19", weights="imagenet", input_shape=(None, None, 3), signed: bool = False):
    """The whole frozen backbone ``name`` (see :func:`vgg19`, :func:`squeezenet`)."""
    _info(name)
    return _BUILDERS[name.lower()](weights=weights, input_shape=input_shape, signed=signed)


def feature_extractor(
    name: str = "vgg19",
    layers=None,
    weights="imagenet",
    input_shape=(None, None, 3),
    signed: bool = False,
) -> keras.Model:
    """A frozen model mapping images to ``{layer_name: features}``.

    Args:
        name: ``"vgg19"`` or ``"squeezenet"``.
        layers: layer names to return; default the backbone's style layers then content layers
            (:func:`default_layers`). Any layer of the backbone works (e.g. ``"block3_conv2"``,
            ``"fire4_squeeze1x1"``, ``"pool1"``).
        weights: ``"imagenet"``, a local file, or ``None`` (see :func:`resolve_weights`).
        input_shape: image shape, ``None`` for any size.
        signed: inputs in ``[-1, 1]`` instead of ``[0, 1]``.

    Returns:
        A ``keras.Model``: ``(B, H, W, 3)`` -> ``dict`` of ``(B, h, w, c)`` tensors, computed only up to the
        deepest requested layer.
    """
    if layers is None:
        style, content = default_layers(name)
        layers = list(dict.fromkeys(style + content))
    elif isinstance(layers, str):
        layers = [layers]
    base = build(name, weights=weights, input_shape=input_shape, signed=signed)
    known = [layer.name for layer in base.layers]
    unknown = [layer for layer in layers if layer not in known]
    if unknown:
        raise ValueError(f"{name} has no layer(s) {unknown}; layers: {known[2:]}")
    outputs = {layer: base.get_layer(layer).output for layer in layers}
    model = keras.Model(base.input, outputs, name=f"{name.lower()}_features")
    model.trainable = False
    return model


def pooled_features(
    name: str = "squeezenet", layer: str | None = None, weights="imagenet", signed: bool = False
) -> keras.Model:
    """A frozen model giving globally-average-pooled features, ``(B, H, W, 3)`` -> ``(B, C)``.

    The default layer is the last one (``fire9``, 512 channels, for SqueezeNet; ``block5_conv4`` for
    VGG19): a light stand-in for Inception's pool3 features in FID-like statistics.
    """
    layer = layer or _info(name).last_layer
    features = feature_extractor(name, [layer], weights=weights, signed=signed)
    pooled = layers.GlobalAveragePooling2D(name="avg_pool")(features.outputs[0])  # (B, C)
    model = keras.Model(features.input, pooled, name=f"{name.lower()}_pooled")
    model.trainable = False
    return model
