"""The float32 CPU inference engine: a Keras image-to-image net rewritten into cheaper, equal maths.

Which runtime serves float32 CPU inference of our generators and transform nets was measured
(``benchmarks/README.md``, "Inference engine"; ``benchmarks/bench_engine.py``): TensorFlow's own graph
(oneDNN kernels) beat LiteRT with XNNPACK (slower on these nets: reflection pads and instance norms fall
outside the delegate), ONNX Runtime on a ``tf2onnx`` conversion (no faster, and a new dependency) and XLA
(slower on CPU convolutions). What costs time is not the runtime but three layer shapes that oneDNN serves badly, so
this module keeps TensorFlow (any Keras backend, in fact: the layers are ``keras.ops``) and rewrites those
layers of a trained net into equal maths (same weights, outputs equal to float32 rounding):

* a stride-1 convolution with few output channels and a large kernel (the RGB heads and stems: 7x7 or
  9x9 to 3 channels at full resolution) -> the same convolution on the space-to-depth input (4x the
  channels, a kernel of ``k // 2 + 1``) followed by depth-to-space (:class:`SpaceToDepthConv`);
* a nearest-neighbour 2x upsample followed by a reflect-padded 3x3 convolution (the transform net's
  resize-convolutions) -> four 2x2 convolutions on the small image, one per output phase, interleaved
  (:class:`PhaseConv`): 16 instead of 36 multiply-adds per output pixel and channel pair (Odena et al.
  2016, https://distill.pub/2016/deconv-checkerboard/, on the equivalence of the two);
* instance normalisation written as ``GroupNormalization(groups=-1)`` -> moments over height and width
  of the 4-D tensor (:class:`InstanceNorm`), without the 5-D regrouping;
* a stride-2 transposed convolution (the U-Net's up-steps and RGB head) on a small image or to few
  channels -> one matrix product of every input pixel with the whole kernel, then the overlapping
  ``k×k`` patches added into place (:class:`MatmulConvTranspose`): oneDNN's transposed-convolution
  kernels are slow on 2x2 ... 16x16 inputs and with 3 outputs, its matrix product is not;
* a stride-1 3x3 convolution between wide layers (the ResNet blocks of the CycleGAN / CUT generators)
  -> Winograd's minimal filtering F(4x4, 3x3) (:class:`WinogradConv`): 2.25 instead of 9 multiply-adds
  per output pixel and channel pair, in 36 matrix products, with the tile transforms compiled by XLA
  into single passes. Only on request (``optimise(..., winograd=True)``, the export), as XLA compiles
  again for each new input shape.

:func:`optimise` returns the rewritten copy; :func:`predictor` a compiled any-size function. Only the
float32 policy is rewritten: under ``mixed_bfloat16`` (CPUs with AMX) the net runs as it is, which is
already fast there. Nets in which none of these shapes occurs come back unchanged.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
from keras import layers, ops

#: A stride-1 convolution is rewritten by :class:`SpaceToDepthConv` when it has at most this many output
#: channels and a kernel side of at least :data:`MIN_KERNEL`.
MAX_FEW_OUTPUTS = 4
MIN_KERNEL = 5

#: A stride-1 3x3 convolution runs as :class:`WinogradConv` when its input and output both have at least
#: this many channels (below it the tile transforms cost more than the multiply-adds they save).
MIN_WINOGRAD_CHANNELS = 64

#: A stride-2 transposed convolution runs as :class:`MatmulConvTranspose` on inputs of at most this many
#: pixels (16x16: the U-Net's up-steps below 32 px at 256 px).
MAX_MATMUL_PIXELS = 256


# ------------------------------------------------------------------------------------- the layers
def _held(layer, name: str, value):
    """``value`` as a non-trainable variable of ``layer`` — not a graph constant: a U-Net's rewritten
    up-steps are ~140 MB, which as constants made tracing take seconds and doubled the export's memory."""
    weight = layer.add_weight(shape=value.shape, initializer="zeros", trainable=False, name=name)
    weight.assign(value)
    return weight


class InstanceNorm(layers.Layer):
    """Instance normalisation ``gamma · (x - mean) / sqrt(var + eps) + beta`` over height and width.

    ``(B, H, W, C) -> (B, H, W, C)``; the maths of ``GroupNormalization(groups=-1)`` (Ulyanov et al. 2016,
    https://arxiv.org/abs/1607.08022) on the 4-D tensor.
    """

    def __init__(self, gamma, beta, epsilon: float, **kwargs):
        super().__init__(**kwargs)
        self.gamma = None if gamma is None else np.asarray(gamma, np.float32)
        self.beta = None if beta is None else np.asarray(beta, np.float32)
        self.epsilon = float(epsilon)

    def call(self, x):
        mean, variance = ops.moments(x, axes=[1, 2], keepdims=True)
        scale = ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            scale = scale * self.gamma
        shift = -mean * scale
        if self.beta is not None:
            shift = shift + self.beta
        return x * scale + shift

    def compute_output_shape(self, input_shape):
        return input_shape


def _pad(x, padding: str, before: int, after: int):
    """Pad height and width by ``before`` / ``after`` pixels: ``"reflect"``, ``"symmetric"`` or zeros."""
    pads = [[0, 0], [before, after], [before, after], [0, 0]]
    return ops.pad(x, pads, mode="constant" if padding == "zeros" else padding)


class SpaceToDepthConv(layers.Layer):
    """A stride-1 ``k×k`` convolution to few channels, computed on the space-to-depth image.

    ``(B, H, W, C) -> (B, H', W', F)`` with the sizes of the original layer. The padded input ``P`` is
    rearranged into 2x2 blocks ``(B, H/2, W/2, 4C)``; output pixel ``(2i + a, 2j + b)`` reads ``P`` at
    ``2i + a + u`` (``u < k``), i.e. block row ``i + (a + u) // 2``, so one ``(k//2 + 1)``-wide convolution
    with ``4F`` outputs (one group per phase ``(a, b)``) computes every output pixel, and depth-to-space puts
    the phases back. Same multiply-adds within ~25 %, but oneDNN runs them 2-3x faster than with 3 outputs.
    """

    def __init__(self, kernel, bias, padding: str, pad: int, activation=None, **kwargs):
        super().__init__(**kwargs)
        k = kernel.shape[0]
        if kernel.shape[0] != kernel.shape[1] or k % 2 == 0:
            raise ValueError(f"SpaceToDepthConv needs a square odd kernel, got {kernel.shape[:2]}")
        c, f = kernel.shape[2], kernel.shape[3]
        kk = k // 2 + 1
        blocks = np.zeros((kk, kk, 2, 2, c, 2, 2, f), np.float32)  # (row, col, dy, dx, C, a, b, F)
        for a in range(2):
            for b in range(2):
                for u in range(k):
                    for v in range(k):
                        ty, tx = a + u, b + v
                        blocks[ty // 2, tx // 2, ty % 2, tx % 2, :, a, b, :] += kernel[u, v]
        self.kernel = blocks.reshape(kk, kk, 4 * c, 4 * f)
        self.bias = None if bias is None else np.tile(np.asarray(bias, np.float32), 4)
        self.padding, self.pad = padding, int(pad)
        self.activation = keras.activations.get(activation)
        self.k = k

    def call(self, x):
        shape = ops.shape(x)
        height, width = shape[1] + 2 * self.pad, shape[2] + 2 * self.pad
        out_h, out_w = height - self.k + 1, width - self.k + 1
        x = _pad(x, self.padding, self.pad, self.pad) if self.pad else x
        x = ops.pad(x, [[0, 0], [0, height % 2], [0, width % 2], [0, 0]])  # even sides (cropped below)
        y = ops.conv(ops.space_to_depth(x, 2), self.kernel, padding="valid")
        if self.bias is not None:
            y = y + self.bias
        y = ops.depth_to_space(y, 2)[:, :out_h, :out_w, :]
        return self.activation(y)

    def compute_output_shape(self, input_shape):  # (JAX cannot trace call() on unknown sizes)
        b, h, w, _ = input_shape
        grow = lambda n: None if n is None else n + 2 * self.pad - self.k + 1  # noqa: E731
        return (b, grow(h), grow(w), self.kernel.shape[-1] // 4)


class PhaseConv(layers.Layer):
    """Nearest 2x upsample + reflect-padded 3x3 convolution, as four 2x2 convolutions on the small image.

    ``(B, h, w, C) -> (B, 2h, 2w, F)``. Upsampling repeats each pixel, so output phase ``(a, b)`` of the
    3x3 kernel only ever reads a 2x2 window of the small image: its taps that land on the same small
    pixel are summed. The reflection of the upsampled image by one pixel is the symmetric padding of the
    small one.
    """

    def __init__(self, kernel, bias, activation=None, **kwargs):
        super().__init__(**kwargs)
        if kernel.shape[:2] != (3, 3):
            raise ValueError(f"PhaseConv needs a 3x3 kernel, got {kernel.shape[:2]}")
        # Small-image rows read by output phase a (offset 0 = the row above): phase 0 reads rows
        # {-1: k0, 0: k1 + k2}, phase 1 reads {0: k0 + k1, +1: k2}.
        fold = {0: [[0], [1, 2]], 1: [[0, 1], [2]]}
        self.kernels = {}
        for a in (0, 1):
            for b in (0, 1):
                small = np.zeros((2, 2, *kernel.shape[2:]), np.float32)
                for r, rows in enumerate(fold[a]):
                    for c, cols in enumerate(fold[b]):
                        small[r, c] = sum(kernel[u, v] for u in rows for v in cols)
                self.kernels[a, b] = small
        self.bias = None if bias is None else np.asarray(bias, np.float32)
        self.activation = keras.activations.get(activation)

    def call(self, x):
        shape = ops.shape(x)
        h, w = shape[1], shape[2]
        x = _pad(x, "symmetric", 1, 1)  # (B, h + 2, w + 2, C)
        rows = []
        for a in (0, 1):
            phases = [ops.conv(x[:, a : a + h + 1, b : b + w + 1, :], self.kernels[a, b]) for b in (0, 1)]
            rows.append(ops.stack(phases, axis=3))  # (B, h, w, 2, F): column phase b
        y = ops.stack(rows, axis=2)  # (B, h, 2, w, 2, F): row phase a
        y = ops.reshape(y, (shape[0], 2 * h, 2 * w, y.shape[-1]))
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)


class MatmulConvTranspose(layers.Layer):
    """A stride-2, ``"same"``-padded ``k×k`` transposed convolution (``k`` even) as a matrix product + col2im.

    ``(B, h, w, C) -> (B, 2h, 2w, F)``. Input pixel ``(i, j)`` adds ``x[i, j] · K[u, v]`` to full-size output
    pixel ``(2i + u, 2j + v)``; writing ``u = 2a + r`` puts it in output block ``i + a``, phase ``r``. So one
    product ``(B·h·w, C) @ (C, k·k·F)`` gives every contribution, the ``(k/2)²`` block shifts ``(a, a')`` are
    added with zero padding, depth-to-space interleaves the phases and the ``"same"`` margin is cropped.
    Used where it is faster than the convolution kernel (measured, ``benchmarks/README.md``): outputs of
    at most :data:`MAX_FEW_OUTPUTS` channels at any size, and inputs of at most :data:`MAX_MATMUL_PIXELS`
    pixels (the choice is made per call from the static size, or in the graph when the size is dynamic).
    """

    def __init__(self, kernel, bias, activation=None, always: bool = False, **kwargs):
        super().__init__(**kwargs)
        k, _, f, c = kernel.shape
        if kernel.shape[0] != kernel.shape[1] or k % 2:
            raise ValueError(f"MatmulConvTranspose needs a square even kernel, got {kernel.shape[:2]}")
        kernel = np.asarray(kernel, np.float32)  # (k, k, F, C): Keras' transposed layout
        m = k // 2
        # (C, [a, r, a', r', F]) with u = 2a + r, v = 2a' + r'
        matrix = np.moveaxis(kernel.reshape(m, 2, m, 2, f, c), -1, 0).reshape(c, k * k * f)
        self._initial = {"matrix": matrix} if always else {"matrix": matrix, "kernel": kernel}
        self.bias = None if bias is None else np.asarray(bias, np.float32)
        self.activation = keras.activations.get(activation)
        self.always = bool(always)
        self.k, self.filters = k, f

    def build(self, input_shape):
        for name, value in self._initial.items():
            setattr(self, name, _held(self, name, value))
        self._initial = {}

    def _matmul(self, x):
        shape = ops.shape(x)
        b, h, w = shape[0], shape[1], shape[2]
        m, f = self.k // 2, self.filters
        y = ops.matmul(ops.reshape(x, (-1, self.matrix.shape[0])), self.matrix)  # (B·h·w, k·k·F)
        y = ops.reshape(y, (b, h, w, m, 2, m, 2, f))
        z = None
        for a in range(m):
            for a2 in range(m):
                part = ops.pad(
                    y[:, :, :, a, :, a2, :, :], [[0, 0], [a, m - 1 - a], [a2, m - 1 - a2], [0, 0], [0, 0], [0, 0]]
                )  # (B, h + m - 1, w + m - 1, 2, 2, F): block shift (a, a2)
                z = part if z is None else z + part
        z = ops.transpose(z, (0, 1, 3, 2, 4, 5))  # (B, h', 2, w', 2, F)
        z = ops.reshape(z, (b, 2 * (h + m - 1), 2 * (w + m - 1), f))
        before = (self.k - 2) // 2
        return z[:, before : before + 2 * h, before : before + 2 * w, :]

    def _conv(self, x):
        return ops.conv_transpose(x, self.kernel, strides=2, padding="same")

    def call(self, x):
        h, w = x.shape[1], x.shape[2]
        if self.always or (h is not None and w is not None):
            y = self._matmul(x) if self.always or h * w <= MAX_MATMUL_PIXELS else self._conv(x)
        else:
            shape = ops.shape(x)
            y = ops.cond(shape[1] * shape[2] <= MAX_MATMUL_PIXELS, lambda: self._matmul(x), lambda: self._conv(x))
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        return (b, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)


# Winograd F(4x4, 3x3) (Lavin & Gray 2016, https://arxiv.org/abs/1509.09308), interpolation points
# 0, ±1, ±2 and ∞: a 6x6 input tile d and a 3x3 kernel g give the 4x4 output tile A^T [(G g G^T) ⊙ (B^T d B)] A.
_WINOGRAD_BT = np.array(
    [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0],
     [0, 4, 0, -5, 0, 1]],
    np.float64,
)
_WINOGRAD_G = np.array(
    [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6],
     [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
    np.float64,
)
_WINOGRAD_AT = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], np.float64)
WINOGRAD_TILE = 4  # output pixels per tile side
_ALPHA = 6  # input pixels per tile side


def _combine(matrix, parts):
    """``[Σ_j matrix[i, j] · parts[j] for each row i]``, skipping zero coefficients."""
    out = []
    for row in matrix:
        total = None
        for coef, part in zip(row, parts):
            if coef == 0:
                continue
            term = part if coef == 1 else -part if coef == -1 else part * float(coef)
            total = term if total is None else total + term
        out.append(total)
    return out


def _winograd_input(x):
    """``(B, 4·Th + 2, 4·Tw + 2, C) -> (36, B·Th·Tw, C)``: ``B^T d B`` of every 6x6 tile (stride 4)."""
    shape = ops.shape(x)
    th, tw = (shape[1] - 2) // WINOGRAD_TILE, (shape[2] - 2) // WINOGRAD_TILE
    rows = [x[:, i : i + WINOGRAD_TILE * th : WINOGRAD_TILE] for i in range(_ALPHA)]  # (B, Th, W, C) each
    tiles = []
    for v in _combine(_WINOGRAD_BT, rows):
        cols = [v[:, :, i : i + WINOGRAD_TILE * tw : WINOGRAD_TILE] for i in range(_ALPHA)]  # (B, Th, Tw, C)
        tiles += _combine(_WINOGRAD_BT, cols)
    return ops.reshape(ops.stack(tiles), (_ALPHA * _ALPHA, -1, x.shape[-1]))


def _winograd_output(m):
    """``(6, 6, B, Th, Tw, F) -> (B, Th, 4, Tw, 4, F)``: ``A^T m A`` of every tile."""
    rows = _combine(_WINOGRAD_AT, [m[j] for j in range(_ALPHA)])  # 4 x (6, B, Th, Tw, F)
    out = [ops.stack(_combine(_WINOGRAD_AT, [r[k] for k in range(_ALPHA)]), axis=3) for r in rows]
    return ops.stack(out, axis=2)  # (B, Th, 4, Tw, 4, F)


@functools.cache
def _fused(fn, backend: str):
    """``fn`` compiled by XLA as one cluster under TensorFlow (its element-wise passes fused into one
    loop; a plain graph runs ~40 of them one by one). One function per transform, shared by every layer,
    so each input shape is compiled once. JAX compiles the whole net anyway."""
    if backend != "tensorflow":
        return fn
    import tensorflow as tf

    return tf.function(fn, jit_compile=True, autograph=False)


class WinogradConv(layers.Layer):
    """A stride-1 3x3 convolution (zero or reflect padding, or none) by Winograd's F(4x4, 3x3).

    ``(B, H, W, C) -> (B, H', W', F)`` with the sizes of the original layer. The padded input is cut into
    6x6 tiles at stride 4 (zero-extended to whole tiles), each tile and the kernel are transformed
    (``B^T d B``, ``G g G^T``), the 36 transformed positions are 36 matrix products
    ``(B·tiles, C) @ (C, F)``, and ``A^T · A`` turns each product tile into 4x4 output pixels: 36
    multiply-adds per 16 outputs instead of 144. Outputs equal the convolution's to float32 rounding
    (about 1e-4 of the output's scale: the transforms' ±2, ±8 entries cost ~5 bits).
    """

    def __init__(self, kernel, bias, padding: str, pad: int, activation=None, **kwargs):
        super().__init__(**kwargs)
        if kernel.shape[:2] != (3, 3):
            raise ValueError(f"WinogradConv needs a 3x3 kernel, got {kernel.shape[:2]}")
        transformed = np.einsum("iu,uvcf,jv->ijcf", _WINOGRAD_G, np.asarray(kernel, np.float64), _WINOGRAD_G)
        self._initial = transformed.reshape(_ALPHA * _ALPHA, *kernel.shape[2:]).astype(np.float32)
        self.bias = None if bias is None else np.asarray(bias, np.float32)
        self.padding, self.pad = padding, int(pad)
        self.activation = keras.activations.get(activation)
        self.filters = int(kernel.shape[3])

    def build(self, input_shape):
        self.kernel = _held(self, "kernel", self._initial)  # (36, C, F)
        self._initial = None

    def call(self, x):
        x = _pad(x, self.padding, self.pad, self.pad) if self.pad else x
        shape = ops.shape(x)
        b, out_h, out_w = shape[0], shape[1] - 2, shape[2] - 2
        th, tw = (out_h + WINOGRAD_TILE - 1) // WINOGRAD_TILE, (out_w + WINOGRAD_TILE - 1) // WINOGRAD_TILE
        x = ops.pad(x, [[0, 0], [0, WINOGRAD_TILE * th - out_h], [0, WINOGRAD_TILE * tw - out_w], [0, 0]])
        backend = keras.backend.backend()
        m = ops.matmul(_fused(_winograd_input, backend)(x), self.kernel)  # (36, B·Th·Tw, F)
        y = _fused(_winograd_output, backend)(ops.reshape(m, (_ALPHA, _ALPHA, b, th, tw, self.filters)))
        y = ops.reshape(y, (b, WINOGRAD_TILE * th, WINOGRAD_TILE * tw, self.filters))[:, :out_h, :out_w, :]
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        grow = lambda n: None if n is None else n + 2 * self.pad - 2  # noqa: E731
        return (b, grow(h), grow(w), self.filters)


# ------------------------------------------------------------------------------------- the rewrite
def _producer(layer):
    """The layer whose output ``layer`` reads (single-input layers), else None."""
    try:
        history = layer.input._keras_history
    except (AttributeError, ValueError):
        return None
    return history[0] if history else None


def _is(layer, name: str) -> bool:
    """``layer`` is the registered stx_tf layer ``name`` (known by name: this room sits below them)."""
    return keras.saving.get_registered_name(type(layer)) == name


#: The fast-style transform net's layers (:mod:`stx_tf.fast_style.nets`).
REFLECT_CONV = "stx_tf.fast_style>ReflectConv2D"
UPSAMPLE = "stx_tf.fast_style>Upsample2x"


def _conv_padding(layer) -> tuple[str, int] | None:
    """``(padding mode, pixels)`` a stride-1 convolution applies to its input, or None (not rewritable)."""
    k = layer.kernel_size[0]
    if _is(layer, REFLECT_CONV):
        return "reflect", k // 2
    if type(layer) is not layers.Conv2D:
        return None
    return ("zeros", k // 2) if layer.padding == "same" else ("zeros", 0)


def _plain_conv(layer) -> bool:
    return (
        isinstance(layer, layers.Conv2D)
        and not isinstance(layer, layers.Conv2DTranspose)
        and layer.data_format == "channels_last"
        and tuple(layer.strides) == (1, 1)
        and tuple(layer.dilation_rate) == (1, 1)
        and layer.groups == 1
        and layer.kernel_size[0] == layer.kernel_size[1]
        and layer.kernel_size[0] % 2 == 1
    )


def _strided_transpose(layer) -> bool:
    return (
        type(layer) is layers.Conv2DTranspose
        and layer.data_format == "channels_last"
        and tuple(layer.strides) == (2, 2)
        and layer.padding == "same"
        and layer.output_padding is None
        and tuple(layer.dilation_rate) == (1, 1)
        and layer.kernel_size[0] == layer.kernel_size[1]
        and layer.kernel_size[0] % 2 == 0
    )


def _weights(layer):
    kernel = np.asarray(keras.ops.convert_to_numpy(layer.kernel), np.float32)
    bias = np.asarray(keras.ops.convert_to_numpy(layer.bias), np.float32) if layer.use_bias else None
    return kernel, bias


def _replacements(model, winograd: bool = False) -> dict:
    """``{layer name: replacement layer}`` of the rewrites :func:`optimise` makes in ``model``."""
    found = {}
    consumers: dict[str, int] = {}
    for layer in model.layers:
        producer = _producer(layer)
        if producer is not None:
            consumers[producer.name] = consumers.get(producer.name, 0) + 1
    for layer in model.layers:
        if isinstance(layer, layers.GroupNormalization) and layer.axis in (-1, 3):
            channels = layer.gamma.shape[0] if layer.scale else None
            if layer.groups in (-1, channels):
                found[layer.name] = InstanceNorm(
                    keras.ops.convert_to_numpy(layer.gamma) if layer.scale else None,
                    keras.ops.convert_to_numpy(layer.beta) if layer.center else None,
                    layer.epsilon,
                    name=layer.name,
                )
        elif _strided_transpose(layer):
            kernel, bias = _weights(layer)
            activation = keras.activations.serialize(layer.activation)
            always = layer.filters <= MAX_FEW_OUTPUTS
            found[layer.name] = MatmulConvTranspose(kernel, bias, activation, always, name=layer.name)
        elif _plain_conv(layer):
            producer = _producer(layer)
            kernel, bias = _weights(layer)
            activation = keras.activations.serialize(layer.activation)
            if (
                _is(layer, REFLECT_CONV)
                and producer is not None
                and _is(producer, UPSAMPLE)
                and layer.kernel_size[0] == 3
                and consumers.get(producer.name) == 1
            ):
                found[producer.name] = layers.Identity(name=producer.name)
                found[layer.name] = PhaseConv(kernel, bias, activation, name=layer.name)
            elif layer.filters <= MAX_FEW_OUTPUTS and layer.kernel_size[0] >= MIN_KERNEL:
                padding = _conv_padding(layer)
                if padding is not None:
                    found[layer.name] = SpaceToDepthConv(kernel, bias, *padding, activation, name=layer.name)
            elif winograd and layer.kernel_size[0] == 3 and min(kernel.shape[2:]) >= MIN_WINOGRAD_CHANNELS:
                padding = _conv_padding(layer)
                if padding is not None:
                    found[layer.name] = WinogradConv(kernel, bias, *padding, activation, name=layer.name)
    return found


def optimise(model, winograd: bool = False):
    """A copy of the functional ``model`` with the rewrites of this module, for float32 inference.

    Same weights (read now: retrain, then call again), outputs equal to float32 rounding (about 1e-5 on
    ``[-1, 1]`` images; 1e-4 with ``winograd``). Returns ``model`` itself when nothing applies or the model
    is not a float32 functional model (a ``mixed_bfloat16`` copy runs as it is).

    Args:
        model: a functional Keras model.
        winograd: also rewrite wide 3x3 convolutions as :class:`WinogradConv`. For jobs that call the net
            many times at ONE input shape (the submission export): XLA compiles its tile transforms for each
            new shape (1-5 s), which an any-size caller (a web demo, one photo) would pay on every picture.
    """
    if not isinstance(model, keras.Model) or not hasattr(model, "_nodes_by_depth"):
        return model
    if any(layer.dtype_policy.name != "float32" for layer in model.layers if layer.weights):
        return model
    found = _replacements(model, winograd)
    if not found:
        return model

    def clone(layer):
        if layer.name in found:
            return found[layer.name]
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    for layer in model.layers:
        if layer.name not in found and layer.weights:
            copy.get_layer(layer.name).set_weights(layer.get_weights())
    return copy


def predictor(model, signature=(None, None, None, 3)):
    """A compiled float32 function ``(B, H, W, 3) -> outputs`` of :func:`optimise` (``model``) for any
    ``B, H, W`` the net accepts (one trace serves every size: no retracing per picture; hence no Winograd
    layers, which XLA would compile again for each size)."""
    net = optimise(model)
    if keras.backend.backend() != "tensorflow":
        return lambda images: net(images, training=False)
    import tensorflow as tf

    spec = tf.TensorSpec(signature, tf.float32, name="images")
    return tf.function(lambda images: net(images, training=False), input_signature=[spec])
