"""stx_tf.engine: the float32 CPU engine paints the same pixels as the Keras model, with cheaper layers.

Tolerance: max |engine - Keras| <= 1e-4 on outputs in [-1, 1] / [0, 1] (float32 sums in another order);
a 8-bit pixel step is 1/255 ~ 4e-3, so the exported JPEGs are the same images.
"""

import keras
import numpy as np
import pytest

from stx_tf import engine
from stx_tf.cyclegan.nets import resnet_generator, unet_generator
from stx_tf.fast_style import build_transform_net

TOLERANCE = 1e-4


def _randomise(model, seed=0):
    """Non-trivial norm scales and offsets (fresh nets start at 1 / 0, which would hide a swapped term)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.GroupNormalization):
            layer.set_weights([rng.normal(1.0, 0.3, w.shape).astype("float32") for w in layer.get_weights()])
    return model


def _kinds(model):
    return {type(layer).__name__ for layer in model.layers}


@pytest.mark.parametrize("shape", [(2, 20, 28, 3), (1, 17, 23, 3)])
def test_transform_net_pixels_match_and_layers_are_rewritten(shape):
    keras.utils.set_random_seed(0)
    net = _randomise(build_transform_net(filters=(4, 8, 8), residual_blocks=1))
    fast = engine.optimise(net)
    # every rewrite fired: instance norms, the 9x9 RGB head, both resize-convolutions
    assert {"InstanceNorm", "SpaceToDepthConv", "PhaseConv"} <= _kinds(fast)
    assert "GroupNormalization" not in _kinds(fast) and "Upsample2x" not in _kinds(fast)
    x = np.random.default_rng(1).uniform(0, 1, shape).astype("float32")
    want = np.asarray(net(x, training=False))
    got = np.asarray(engine.predictor(net)(x))
    assert got.shape == want.shape == shape
    assert np.abs(got - want).max() <= TOLERANCE


def test_cyclegan_generators_match():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(2).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    for net in (resnet_generator(filters=4, res_blocks=1), unet_generator(filters=4, image_size=32)):
        net = _randomise(net)
        fast = engine.optimise(net)
        assert fast is not net and "InstanceNorm" in _kinds(fast)
        assert np.abs(np.asarray(fast(x)) - np.asarray(net(x))).max() <= TOLERANCE
    assert "SpaceToDepthConv" in _kinds(engine.optimise(resnet_generator(filters=4, res_blocks=1)))  # to_rgb


def test_space_to_depth_conv_equals_the_convolution_for_every_padding():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1, 13, 10, 5)).astype("float32")
    for padding, kernel in (("same", 7), ("valid", 5), ("same", 9)):
        conv = keras.layers.Conv2D(3, kernel, padding=padding, activation="tanh")
        want = np.asarray(conv(x))
        k, b = conv.get_weights()
        fast = engine.SpaceToDepthConv(k, b, "zeros", kernel // 2 if padding == "same" else 0, "tanh")
        assert np.abs(np.asarray(fast(x)) - want).max() <= TOLERANCE


@pytest.mark.parametrize("kernel", [2, 4, 6])
def test_matmul_conv_transpose_equals_the_transposed_convolution(kernel):
    """Both paths (matrix product + col2im on small inputs and few outputs, the convolution otherwise), with
    static sizes (JAX, traced shapes) and dynamic ones (the any-size predictor), bias and activation."""
    rng = np.random.default_rng(kernel)
    for side, filters in ((3, 5), (5, 2), (20, 5)):  # 9 and 25 pixels: product; 400 > 256: convolution
        x = rng.normal(size=(2, side, side + 1, 4)).astype("float32")
        layer = keras.layers.Conv2DTranspose(filters, kernel, strides=2, padding="same", activation="tanh")
        want = np.asarray(layer(x))
        k, b = layer.get_weights()
        for always in (False, True):
            fast = engine.MatmulConvTranspose(k, b, "tanh", always)
            assert np.abs(np.asarray(fast(x)) - want).max() <= TOLERANCE
            inputs = keras.Input((None, None, 4))
            any_size = engine.predictor(keras.Model(inputs, fast(inputs)), signature=(None, None, None, 4))
            assert np.abs(np.asarray(any_size(x)) - want).max() <= TOLERANCE
    with pytest.raises(ValueError, match="even kernel"):
        engine.MatmulConvTranspose(np.zeros((3, 3, 2, 2), "float32"), None)


def test_unet_transposed_convolutions_are_rewritten():
    net = unet_generator(filters=4, image_size=32)
    kinds = [type(layer).__name__ for layer in engine.optimise(net).layers]
    assert "Conv2DTranspose" not in kinds and kinds.count("MatmulConvTranspose") == 5  # 4 up-steps + to_rgb


def test_unrewritable_and_low_precision_models_come_back_unchanged():
    inputs = keras.Input((8, 8, 3))
    plain = keras.Model(inputs, keras.layers.Conv2D(16, 3, padding="same")(inputs))
    assert engine.optimise(plain) is plain
    from stx_tf import precision

    net = resnet_generator(filters=4, res_blocks=1)
    bf16 = precision.cast_copy(net, "mixed_bfloat16", keep=[net.layers[-1]])
    assert engine.optimise(bf16) is bf16


@pytest.mark.parametrize("padding, pad", [("zeros", 1), ("reflect", 1), ("zeros", 0)])
def test_winograd_conv_equals_the_convolution(padding, pad):
    """F(4x4, 3x3) on sizes that are not whole tiles, with bias and activation, for each padding."""
    rng = np.random.default_rng(4)
    kernel = rng.normal(size=(3, 3, 6, 5)).astype("float32")
    bias = rng.normal(size=5).astype("float32")
    layer = engine.WinogradConv(kernel, bias, padding, pad, "relu")
    for shape in ((2, 13, 10, 6), (1, 4, 7, 6), (1, 18, 18, 6)):
        x = rng.normal(size=shape).astype("float32")
        padded = engine._pad(x, padding, pad, pad) if pad else x
        want = np.maximum(np.asarray(keras.ops.conv(padded, kernel, padding="valid")) + bias, 0.0)
        got = np.asarray(layer(x))
        assert got.shape == want.shape == layer.compute_output_shape(shape)
        assert np.abs(got - want).max() <= TOLERANCE * np.abs(want).max()


def test_winograd_rewrites_wide_resnet_blocks_only_on_request():
    keras.utils.set_random_seed(0)
    net = _randomise(resnet_generator(filters=16, res_blocks=1))  # blocks at 4 x 16 = 64 channels
    assert "WinogradConv" not in _kinds(engine.optimise(net))  # any-size callers: none
    fast = engine.optimise(net, winograd=True)
    rewritten = [layer.name for layer in fast.layers if type(layer).__name__ == "WinogradConv"]
    assert sorted(rewritten) == ["res1_conv1", "res1_conv2"]  # not the 3-, 16- or 32-channel layers
    x = np.random.default_rng(5).uniform(-1, 1, (2, 36, 28, 3)).astype("float32")
    assert np.abs(np.asarray(fast(x)) - np.asarray(net(x))).max() <= TOLERANCE
