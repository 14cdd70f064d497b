"""The competition's network: the 2015 FID InceptionV3 graph, rebuilt layer for layer in Keras 3.

Kaggle's MiFID (like TTUR's FID, Heusel et al. 2017, https://arxiv.org/abs/1706.08500) reads the
``pool_3:0`` features of TensorFlow's ``classify_image_graph_def.pb`` of 2015-12-05: InceptionV3
(Szegedy et al. 2015, "Rethinking the Inception Architecture for Computer Vision",
https://arxiv.org/abs/1512.00567) as Google trained it then, which is *not* the network
``keras.applications.InceptionV3`` ships (other weights, and other details). This module rebuilds that
graph exactly:

* every convolution has no bias and is followed by batch normalisation **without scale**
  (``BatchNormWithGlobalNormalization``, ``scale_after_normalization=False``, epsilon ``1e-3``) and ReLU;
  :class:`ConvBN` holds the graph's four tensors (``conv2d_params``, ``beta``, ``moving_mean``,
  ``moving_variance``) under the graph's node names;
* the blocks' 3×3 average pools (stride 1, SAME) do **not** count the padding (TF's SAME average pool);
* the last block (``mixed_10``) pools its fourth branch with a 3×3 **max** pool where ``mixed_9`` averages
  (a quirk of the 2015 graph);
* ``pool_3`` is the 8×8 average of ``mixed_10``: 2,048 features;
* in front, what the graph does after ``ExpandDims``: TF1 ``ResizeBilinear`` to 299×299
  (``align_corners=False``, ``half_pixel_centers=False``) and ``(x - 128) / 128``.

The model takes float ``0..255`` pixels ``(B, H, W, 3)`` (any size; the competition's are 256×256) and
returns ``(B, 2048)``. It is built in float32 whatever Keras' global dtype policy is (each layer carries
an explicit float32 policy, see :func:`stx_tf.precision.float32_scope`), since a bf16/fp16 pass moves the
features by about 1% and the score with them. Only ``keras.ops`` are used, so it runs on the TensorFlow
and JAX backends. Weights come from :mod:`stx_tf.metrics.fid_weights`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import keras
import numpy as np
from keras import ops

from stx_tf import precision

#: Side of the network's input after the graph's own resize.
INPUT_SIZE = 299

#: Length of ``pool_3``.
FEATURE_DIM = 2048

#: The graph's batch-norm epsilon (``variance_epsilon`` of every ``batchnorm`` node).
BN_EPSILON = 1e-3

#: Parameters of the 2015 graph's feature part (94 conv layers × kernel, beta, mean, variance).
PARAMETERS = 21_802_784

#: The graph's names of the four tensors of a conv layer, below ``<layer>/``.
TENSOR_SUFFIXES = ("conv2d_params", "batchnorm/beta", "batchnorm/moving_mean", "batchnorm/moving_variance")

MODEL_NAME = "fid_inception_2015_12_05"


def keras_name(graph_name: str) -> str:
    """Keras layer name of a graph layer (Keras forbids ``/``): ``mixed_9/tower/mixed/conv`` ->
    ``mixed_9.tower.mixed.conv``."""
    return graph_name.replace("/", ".")


@keras.saving.register_keras_serializable(package="stx_tf")
class LegacyResize(keras.layers.Layer):
    """TF1 ``ResizeBilinear`` (``align_corners=False``, ``half_pixel_centers=False``), no antialiasing.

    Source coordinate of output pixel ``i`` is ``i * in / out`` (float32), interpolated between its floor
    and the next pixel (clamped at the border), rows after columns - the op and the arithmetic order inside
    the 2015 graph. ``(B, H, W, C) -> (B, size, size, C)``.
    """

    def __init__(self, size: int = INPUT_SIZE, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def _taps(self, length):
        scale = ops.cast(length, "float32") / float(self.size)
        src = ops.cast(ops.arange(self.size), "float32") * scale  # (size,)
        low = ops.floor(src)
        frac = src - low
        low = ops.cast(low, "int32")
        high = ops.minimum(low + 1, ops.cast(length, "int32") - 1)
        return low, high, frac

    def call(self, images):
        shape = ops.shape(images)
        y0, y1, fy = self._taps(shape[1])
        x0, x1, fx = self._taps(shape[2])
        top, bottom = ops.take(images, y0, axis=1), ops.take(images, y1, axis=1)  # (B, size, W, C)
        fx = ops.cast(ops.reshape(fx, (1, 1, self.size, 1)), images.dtype)
        fy = ops.cast(ops.reshape(fy, (1, self.size, 1, 1)), images.dtype)

        def columns(rows):
            left, right = ops.take(rows, x0, axis=2), ops.take(rows, x1, axis=2)  # (B, size, size, C)
            return left + (right - left) * fx

        top, bottom = columns(top), columns(bottom)
        return top + (bottom - top) * fy

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="stx_tf")
class ConvBN(keras.layers.Layer):
    """Conv (no bias) -> batch norm without scale (eps 1e-3, moving statistics) -> ReLU: one graph layer.

    Weights are the graph's own tensors: ``kernel`` ``(kh, kw, in, out)`` (HWIO, as ``conv2d_params``),
    ``beta``, ``moving_mean``, ``moving_variance`` ``(out,)``. The normalisation is applied by scaling the
    kernel and adding one offset per channel,
    ``relu(conv(x, k * s) + (beta - mean * s))`` with ``s = 1 / sqrt(var + eps)`` - the same function as
    the graph's three ops, in one pass over the activations. ``(B, H, W, in) -> (B, H', W', out)``.
    """

    def __init__(self, filters: int, kernel_size, strides: int = 1, padding: str = "same", **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = tuple(int(k) for k in kernel_size)
        self.strides = int(strides)
        self.padding = padding

    def build(self, input_shape):
        shape = (*self.kernel_size, int(input_shape[-1]), self.filters)
        self.kernel = self.add_weight(
            shape=shape, initializer="glorot_uniform", name="kernel", trainable=False
        )
        self.beta = self.add_weight(shape=(self.filters,), initializer="zeros", name="beta", trainable=False)
        self.moving_mean = self.add_weight(
            shape=(self.filters,), initializer="zeros", name="moving_mean", trainable=False
        )
        self.moving_variance = self.add_weight(
            shape=(self.filters,), initializer="ones", name="moving_variance", trainable=False
        )

    def call(self, x):
        scale = ops.rsqrt(self.moving_variance + BN_EPSILON)  # (out,)
        y = ops.conv(x, self.kernel * scale, strides=self.strides, padding=self.padding)
        return ops.relu(y + (self.beta - self.moving_mean * scale))

    def compute_output_shape(self, input_shape):
        def side(n, k):
            if n is None:
                return None
            return -(-n // self.strides) if self.padding == "same" else (n - k) // self.strides + 1

        return (
            input_shape[0],
            side(input_shape[1], self.kernel_size[0]),
            side(input_shape[2], self.kernel_size[1]),
            self.filters,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
        }


class ConvSpec(NamedTuple):
    """One conv layer of the graph: kernel size, output channels, stride and padding."""

    kh: int
    kw: int
    filters: int
    strides: int
    padding: str


class _Builder:
    """Creates the graph's layers in float32 under their graph names and records each conv's spec."""

    def __init__(self):
        self.convs: dict[str, ConvSpec] = {}  # graph name -> spec, in graph order

    def conv(self, x, name, filters, kernel, strides=1, padding="same"):
        kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
        self.convs[name] = ConvSpec(*kernel, filters, strides, padding)
        layer = ConvBN(filters, kernel, strides, padding, name=keras_name(name), dtype="float32")
        return layer(x)

    @staticmethod
    def pool(x, name, kind="max", size=3, strides=2, padding="valid"):
        cls = keras.layers.MaxPooling2D if kind == "max" else keras.layers.AveragePooling2D
        # TF's SAME average pool divides by the pixels inside the image (padding not counted), on every backend
        return cls(size, strides=strides, padding=padding, name=keras_name(name), dtype="float32")(x)

    @staticmethod
    def concat(branches, name):
        return keras.layers.Concatenate(axis=-1, name=keras_name(name), dtype="float32")(branches)

    def block_a(self, x, name, pool_filters):  # 35×35: 1×1, 5×5, double 3×3, avg pool
        a = self.conv(x, f"{name}/conv", 64, 1)
        b = self.conv(self.conv(x, f"{name}/tower/conv", 48, 1), f"{name}/tower/conv_1", 64, 5)
        c = self.conv(x, f"{name}/tower_1/conv", 64, 1)
        c = self.conv(self.conv(c, f"{name}/tower_1/conv_1", 96, 3), f"{name}/tower_1/conv_2", 96, 3)
        d = self.pool(x, f"{name}/tower_2/pool", "avg", strides=1, padding="same")
        d = self.conv(d, f"{name}/tower_2/conv", pool_filters, 1)
        return self.concat([a, b, c, d], f"{name}/join")  # (B, 35, 35, 224 + pool_filters)

    def block_b(self, x, name):  # 35×35 -> 17×17
        a = self.conv(x, f"{name}/conv", 384, 3, strides=2, padding="valid")
        b = self.conv(x, f"{name}/tower/conv", 64, 1)
        b = self.conv(b, f"{name}/tower/conv_1", 96, 3)
        b = self.conv(b, f"{name}/tower/conv_2", 96, 3, strides=2, padding="valid")
        c = self.pool(x, f"{name}/pool")
        return self.concat([a, b, c], f"{name}/join")  # (B, 17, 17, 768)

    def block_c(self, x, name, width):  # 17×17, factorised 7×7
        a = self.conv(x, f"{name}/conv", 192, 1)
        b = self.conv(x, f"{name}/tower/conv", width, 1)
        b = self.conv(b, f"{name}/tower/conv_1", width, (1, 7))
        b = self.conv(b, f"{name}/tower/conv_2", 192, (7, 1))
        c = self.conv(x, f"{name}/tower_1/conv", width, 1)
        for i, (kernel, filters) in enumerate(
            [((7, 1), width), ((1, 7), width), ((7, 1), width), ((1, 7), 192)], start=1
        ):
            c = self.conv(c, f"{name}/tower_1/conv_{i}", filters, kernel)
        d = self.pool(x, f"{name}/tower_2/pool", "avg", strides=1, padding="same")
        d = self.conv(d, f"{name}/tower_2/conv", 192, 1)
        return self.concat([a, b, c, d], f"{name}/join")  # (B, 17, 17, 768)

    def block_d(self, x, name):  # 17×17 -> 8×8
        a = self.conv(x, f"{name}/tower/conv", 192, 1)
        a = self.conv(a, f"{name}/tower/conv_1", 320, 3, strides=2, padding="valid")
        b = self.conv(x, f"{name}/tower_1/conv", 192, 1)
        b = self.conv(b, f"{name}/tower_1/conv_1", 192, (1, 7))
        b = self.conv(b, f"{name}/tower_1/conv_2", 192, (7, 1))
        b = self.conv(b, f"{name}/tower_1/conv_3", 192, 3, strides=2, padding="valid")
        c = self.pool(x, f"{name}/pool")
        return self.concat([a, b, c], f"{name}/join")  # (B, 8, 8, 1280)

    def block_e(self, x, name, pool_kind):  # 8×8, expanded filter bank
        a = self.conv(x, f"{name}/conv", 320, 1)
        t = self.conv(x, f"{name}/tower/conv", 384, 1)
        b1 = self.conv(t, f"{name}/tower/mixed/conv", 384, (1, 3))
        b2 = self.conv(t, f"{name}/tower/mixed/conv_1", 384, (3, 1))
        t = self.conv(x, f"{name}/tower_1/conv", 448, 1)
        t = self.conv(t, f"{name}/tower_1/conv_1", 384, 3)
        c1 = self.conv(t, f"{name}/tower_1/mixed/conv", 384, (1, 3))
        c2 = self.conv(t, f"{name}/tower_1/mixed/conv_1", 384, (3, 1))
        d = self.pool(x, f"{name}/tower_2/pool", pool_kind, strides=1, padding="same")
        d = self.conv(d, f"{name}/tower_2/conv", 192, 1)
        return self.concat([a, b1, b2, c1, c2, d], f"{name}/join")  # (B, 8, 8, 2048)

    def network(self, pixels):
        x = LegacyResize(INPUT_SIZE, name="resize", dtype="float32")(pixels)  # (B, 299, 299, 3)
        x = keras.layers.Rescaling(1.0 / 128.0, offset=-1.0, name="scale", dtype="float32")(x)  # (x-128)/128
        x = self.conv(x, "conv", 32, 3, strides=2, padding="valid")  # (B, 149, 149, 32)
        x = self.conv(x, "conv_1", 32, 3, padding="valid")  # (B, 147, 147, 32)
        x = self.conv(x, "conv_2", 64, 3)  # (B, 147, 147, 64)
        x = self.pool(x, "pool")  # (B, 73, 73, 64)
        x = self.conv(x, "conv_3", 80, 1, padding="valid")  # (B, 73, 73, 80)
        x = self.conv(x, "conv_4", 192, 3, padding="valid")  # (B, 71, 71, 192)
        x = self.pool(x, "pool_1")  # (B, 35, 35, 192)
        x = self.block_a(x, "mixed", 32)  # (B, 35, 35, 256)
        x = self.block_a(x, "mixed_1", 64)  # (B, 35, 35, 288)
        x = self.block_a(x, "mixed_2", 64)  # (B, 35, 35, 288)
        x = self.block_b(x, "mixed_3")  # (B, 17, 17, 768)
        for name, width in (("mixed_4", 128), ("mixed_5", 160), ("mixed_6", 160), ("mixed_7", 192)):
            x = self.block_c(x, name, width)  # (B, 17, 17, 768)
        x = self.block_d(x, "mixed_8")  # (B, 8, 8, 1280)
        x = self.block_e(x, "mixed_9", "avg")  # (B, 8, 8, 2048)
        x = self.block_e(x, "mixed_10", "max")  # (B, 8, 8, 2048)
        return keras.layers.GlobalAveragePooling2D(name="pool_3", dtype="float32")(x)  # (B, 2048)


def layer_specs() -> dict[str, ConvSpec]:
    """``{graph layer name: ConvSpec}`` of the 94 conv layers, in graph order."""
    builder = _Builder()
    with precision.float32_scope():
        builder.network(keras.Input((INPUT_SIZE, INPUT_SIZE, 3), dtype="float32"))
    return builder.convs


def build(input_size: int | None = None) -> keras.Model:
    """The FID InceptionV3 of 2015 as a Keras model: float ``0..255`` pixels ``(B, H, W, 3)`` -> ``(B, 2048)``.

    Weights are initialised randomly; load the graph's with :func:`set_graph_weights` (or
    :func:`stx_tf.metrics.fid_weights.load_model`).

    Args:
        input_size: a fixed input side (e.g. 256), or ``None`` for any size.
    """
    with precision.float32_scope():
        pixels = keras.Input((input_size, input_size, 3), dtype="float32", name="pixels")
        return keras.Model(pixels, _Builder().network(pixels), name=MODEL_NAME)


def conv_layers(model: keras.Model) -> dict[str, ConvBN]:
    """``{graph layer name: layer}`` of a model made by :func:`build`."""
    return {layer.name.replace(".", "/"): layer for layer in model.layers if isinstance(layer, ConvBN)}


def graph_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """The model's weights under the graph's tensor names (``conv/conv2d_params``, ``conv/batchnorm/beta``, ...)."""
    out = {}
    for name, layer in conv_layers(model).items():
        values = (layer.kernel, layer.beta, layer.moving_mean, layer.moving_variance)
        for suffix, value in zip(TENSOR_SUFFIXES, values):
            out[f"{name}/{suffix}"] = np.asarray(ops.convert_to_numpy(value))
    return out


def set_graph_weights(model: keras.Model, tensors: dict[str, np.ndarray], source: str = "weights") -> None:
    """Copy the graph's tensors (by graph name, kernels HWIO) into a model made by :func:`build`.

    Raises:
        ValueError: a tensor is missing or has the wrong shape (the message names it and ``source``).
    """
    for name, layer in conv_layers(model).items():
        values = []
        for suffix, variable in zip(
            TENSOR_SUFFIXES, (layer.kernel, layer.beta, layer.moving_mean, layer.moving_variance)
        ):
            key = f"{name}/{suffix}"
            if key not in tensors:
                raise ValueError(f"{source}: no tensor {key!r} (is this the 2015 FID Inception?)")
            value = np.asarray(tensors[key], dtype=np.float32)
            if value.shape != tuple(variable.shape):
                raise ValueError(
                    f"{source}: tensor {key!r} has shape {value.shape}, the network expects {tuple(variable.shape)}"
                )
            values.append(value)
        for variable, value in zip(
            (layer.kernel, layer.beta, layer.moving_mean, layer.moving_variance), values
        ):
            variable.assign(value)


_E_BRANCH = re.compile(r"^(tower(?:_\d+)?)_(mixed_)?(conv(?:_\d+)?)$")


def graph_name_of_module(path: str) -> str:
    """Graph layer name of a module path of the TorchScript port: ``net.layers.mixed_9.tower_1_mixed_conv``
    -> ``mixed_9/tower_1/mixed/conv`` (its last blocks flatten ``tower/mixed/conv`` into one attribute)."""
    parts = path.split(".")
    if parts[:2] == ["net", "layers"]:
        parts = parts[2:]
    match = _E_BRANCH.match(parts[-1]) if len(parts) == 2 else None
    if match:
        tower, mixed, conv = match.groups()
        parts = [parts[0], tower, *(["mixed"] if mixed else []), conv]
    return "/".join(parts)
