"""The image transformation network of Johnson et al. (2016), fully convolutional.

Paper: Justin Johnson, Alexandre Alahi, Li Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", ECCV 2016, https://arxiv.org/abs/1603.08155 (architecture in its supplementary
material). Changes the community settled on since, all kept here:

* instance normalisation instead of batch norm (Ulyanov et al. 2016, https://arxiv.org/abs/1607.08022),
  :func:`stx_tf.nn.norm_layer` (``GroupNormalization(groups=-1)``);
* reflection padding instead of zero padding (no dark borders);
* nearest-neighbour resize + convolution instead of transposed convolutions (Odena et al. 2016,
  https://distill.pub/2016/deconv-checkerboard/), so there are no checkerboard artefacts;
* residual blocks without the ReLU after the addition (Gross & Wilber 2016).

The network maps an RGB image in ``[0, 1]`` to an RGB image in ``[0, 1]`` of the same size. Any height and
width work: the input is reflect-padded to a multiple of 4 (two stride-2 stages) and the output is cropped
back, inside the model, so saved models, SavedModels and TFLite files all accept odd sizes.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from stx_tf.fast_style.config import PAPER_FILTERS
from stx_tf.nn import norm_layer, reflect_pad

#: Name given to every transform net; :func:`is_transform_net` uses it to reject other model files.
MODEL_NAME = "stx_fast_style_transform"


_PACKAGE = "stx_tf.fast_style"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ReflectConv2D(layers.Conv2D):
    """A ``Conv2D`` whose input is first reflect-padded by ``kernel_size // 2`` on every side.

    Odd kernels only. ``(B, H, W, C) -> (B, ceil(H/s), ceil(W/s), filters)`` for stride ``s``: the sizes of
    ``padding="same"``, without the zero frame that darkens the borders of generated images.
    """

    def __init__(self, filters, kernel_size, **kwargs):
        kwargs["padding"] = "valid"
        super().__init__(filters, kernel_size, **kwargs)
        if any(k % 2 == 0 for k in self.kernel_size):
            raise ValueError(f"ReflectConv2D needs odd kernel sizes, got {self.kernel_size}")

    def call(self, x):
        return super().call(reflect_pad(x, self.kernel_size[0] // 2, self.kernel_size[1] // 2))

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        sh, sw = self.strides
        return (b, None if h is None else -(-h // sh), None if w is None else -(-w // sw), self.filters)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PadToMultiple(layers.Layer):
    """Reflect-pad bottom/right so height and width are multiples of ``multiple``: ``(B, H, W, C) -> (B, H', W', C)``."""

    def __init__(self, multiple: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, x):
        shape = ops.shape(x)
        pad_h = (-shape[1]) % self.multiple
        pad_w = (-shape[2]) % self.multiple
        x = ops.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="reflect")
        # Re-state the static channel count: TFLite's converter loses it after a dynamic pad.
        return ops.reshape(x, (shape[0], shape[1] + pad_h, shape[2] + pad_w, x.shape[-1]))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        m = self.multiple
        return (b, None if h is None else -(-h // m) * m, None if w is None else -(-w // m) * m, c)

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Upsample2x(layers.Layer):
    """Nearest-neighbour x2 resize: ``(B, h, w, C) -> (B, 2h, 2w, C)``.

    Written with reshape + broadcast (not ``UpSampling2D``) so that the channel count stays static when
    the spatial size is dynamic, which TFLite's converter needs to map the following convolution.
    """

    def call(self, x):
        shape = ops.shape(x)
        channels = x.shape[-1]
        x = ops.reshape(x, (shape[0], shape[1], 1, shape[2], 1, channels))  # (B, h, 1, w, 1, C)
        x = ops.broadcast_to(x, (shape[0], shape[1], 2, shape[2], 2, channels))  # (B, h, 2, w, 2, C)
        return ops.reshape(x, (shape[0], shape[1] * 2, shape[2] * 2, channels))  # (B, 2h, 2w, C)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else 2 * h, None if w is None else 2 * w, c)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CropLike(layers.Layer):
    """Crop ``x`` to the height and width of ``reference``: ``[(B, H', W', C), (B, H, W, _)] -> (B, H, W, C)``."""

    def call(self, inputs):
        x, reference = inputs
        shape = ops.shape(reference)
        return x[:, : shape[1], : shape[2], :]

    def compute_output_shape(self, input_shapes):
        x_shape, ref_shape = input_shapes
        return (x_shape[0], ref_shape[1], ref_shape[2], x_shape[3])


def _conv_norm(
    x, filters: int, kernel: int, stride: int = 1, relu: bool = True, name: str = "conv", dtype=None
):
    """Reflect-padded conv (no bias: the norm's beta replaces it) -> instance norm -> optional ReLU."""
    x = ReflectConv2D(filters, kernel, strides=stride, use_bias=False, name=f"{name}_conv", dtype=dtype)(x)
    x = norm_layer("instance", name=f"{name}_in", gamma_stddev=0.0, dtype=dtype)(x)
    return layers.ReLU(name=f"{name}_relu", dtype=dtype)(x) if relu else x


def _residual(x, filters: int, name: str, dtype=None):
    """Two 3x3 conv-IN layers with an identity skip: ``(B, h, w, F) -> (B, h, w, F)``."""
    y = _conv_norm(x, filters, 3, name=f"{name}_a", dtype=dtype)
    y = _conv_norm(y, filters, 3, relu=False, name=f"{name}_b", dtype=dtype)
    return layers.Add(name=f"{name}_add", dtype=dtype)([x, y])


def _upsample(x, filters: int, name: str, dtype=None):
    """Nearest-neighbour x2 resize then a 3x3 conv-IN-ReLU: ``(B, h, w, F) -> (B, 2h, 2w, filters)``."""
    x = Upsample2x(name=f"{name}_resize", dtype=dtype)(x)
    return _conv_norm(x, filters, 3, name=name, dtype=dtype)


def build_transform_net(
    filters: tuple[int, int, int] = PAPER_FILTERS,
    residual_blocks: int = 5,
    name: str = MODEL_NAME,
    dtype: str | None = None,
) -> keras.Model:
    """Build the feed-forward painter.

    Args:
        filters: channel widths ``(stem, down1, down2)``; the paper uses ``(32, 64, 128)``. Tests use
            tiny widths such as ``(4, 8, 8)``; fast CPU presets use ``(16, 32, 64)``.
        residual_blocks: number of residual blocks at 1/4 resolution (paper: 5).
        name: model name; keep the default so :func:`is_transform_net` recognises saved files.
        dtype: Keras dtype policy of the hidden layers (e.g. ``"mixed_bfloat16"`` for fast inference on
            CPUs with AMX / AVX512-BF16); ``None`` uses the global policy. The output is always float32.

    Returns:
        A functional ``keras.Model`` mapping ``(B, H, W, 3)`` float ``[0, 1]`` to ``(B, H, W, 3)`` float
        ``[0, 1]`` for any ``H, W >= 4``.
    """
    if len(filters) != 3 or min(filters) < 1:
        raise ValueError(f"filters must be three positive widths (stem, down1, down2), got {filters!r}")
    if residual_blocks < 0:
        raise ValueError(f"residual_blocks must be >= 0, got {residual_blocks}")
    f1, f2, f3 = (int(f) for f in filters)
    d = dtype
    image = keras.Input(shape=(None, None, 3), name="image")  # (B, H, W, 3) in [0, 1]
    x = PadToMultiple(4, name="pad_to_4", dtype=d)(image)  # (B, H4, W4, 3), H4 = ceil(H/4)*4
    x = layers.Rescaling(2.0, offset=-1.0, name="to_signed", dtype=d)(x)  # [0, 1] -> [-1, 1]
    x = _conv_norm(x, f1, 9, name="stem", dtype=d)  # (B, H4, W4, f1)
    x = _conv_norm(x, f2, 3, stride=2, name="down1", dtype=d)  # (B, H4/2, W4/2, f2)
    x = _conv_norm(x, f3, 3, stride=2, name="down2", dtype=d)  # (B, H4/4, W4/4, f3)
    for i in range(residual_blocks):
        x = _residual(x, f3, name=f"res{i + 1}", dtype=d)  # (B, H4/4, W4/4, f3)
    x = _upsample(x, f2, name="up1", dtype=d)  # (B, H4/2, W4/2, f2)
    x = _upsample(x, f1, name="up2", dtype=d)  # (B, H4, W4, f1)
    x = ReflectConv2D(3, 9, name="head_conv", dtype=d)(x)  # (B, H4, W4, 3)
    x = layers.Activation("sigmoid", dtype="float32", name="to_unit")(x)  # [0, 1], float32
    out = CropLike(name="crop", dtype="float32")([x, image])  # (B, H, W, 3)
    return keras.Model(image, out, name=name)


def is_transform_net(model) -> bool:
    """True for a model built by :func:`build_transform_net` (checked by name and I/O shapes)."""
    if not isinstance(model, keras.Model) or not model.name.startswith(MODEL_NAME):
        return False
    try:
        return tuple(model.input_shape)[-1] == 3 and tuple(model.output_shape)[-1] == 3
    except (AttributeError, ValueError):
        return False


def transform_config(model: keras.Model) -> dict:
    """The :func:`build_transform_net` arguments of a built transform net: ``{"filters", "residual_blocks"}``."""
    if not is_transform_net(model):
        raise ValueError(f"{getattr(model, 'name', model)!r} is not a fast-style transform net")
    filters = tuple(int(model.get_layer(f"{n}_conv").filters) for n in ("stem", "down1", "down2"))
    blocks = sum(1 for layer in model.layers if layer.name.startswith("res") and layer.name.endswith("_add"))
    return {"filters": filters, "residual_blocks": blocks}
