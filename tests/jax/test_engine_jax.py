"""The CPU engine under Keras' JAX backend: an any-size ResNet generator is rewritten (the space-to-depth
RGB head and Winograd's 3x3 convolutions) and paints the Keras model's pixels (tolerance of tests/test_engine.py)."""

from __future__ import annotations

import keras
import numpy as np

from stx_tf import engine
from stx_tf.cyclegan.nets import resnet_generator


def test_any_size_resnet_generator_is_rewritten_and_matches():
    keras.utils.set_random_seed(0)
    net = resnet_generator(filters=16, res_blocks=1)  # no fixed size; blocks 64 wide
    fast = engine.optimise(net, winograd=True)
    kinds = {type(layer).__name__ for layer in fast.layers}
    assert {"SpaceToDepthConv", "WinogradConv", "InstanceNorm"} <= kinds
    x = np.random.default_rng(0).uniform(-1, 1, (2, 36, 28, 3)).astype("float32")
    assert np.abs(np.asarray(fast(x)) - np.asarray(net(x))).max() <= 1e-4
