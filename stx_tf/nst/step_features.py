"""The features of Gatys' optimisation steps, computed the cheap way (TensorFlow only).

:func:`step_features` turns a feature extractor (:func:`stx_tf.backbones.feature_extractor`, float32 or
its bfloat16 copy) into ``fn(images) -> {layer: [parts]}``: each requested layer as a list of channel
blocks whose concatenation is the layer's output. For SqueezeNet (Iandola et al. 2016,
https://arxiv.org/abs/1602.07360) the function runs the network from the model's own weights without its
concatenations:

* a fire module's output stays two parts (the 1x1 and the 3x3 expand); the next squeeze convolution is
  the sum of one convolution per part and max pooling acts per part, so no ``concat`` runs forward and no
  ``slice`` runs in the gradient, and a Gram matrix of the two parts needs 3 of its 4 blocks
  (:func:`stx_tf.nst.objective.gram_distance`);
* the Caffe preprocessing (scale to 0-255, RGB to BGR, minus the ImageNet mean) is folded into ``conv1``
  (unpadded, so the fold is exact): no elementwise passes over the image and none in its gradient. In
  bfloat16 the mean is still subtracted in float32 before the cast: bfloat16 keeps only ~8 bits of a
  pixel in [0, 1] but ~16 of the centred value, and the late, small steps of the optimisation need them
  (uncentred, more steps reach the same loss).

Other backbones return the Keras model's outputs as single parts. Measured on the Gatys step in
``benchmarks/README.md``.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from stx_tf import backbones


def step_features(model: keras.Model) -> Callable:
    """``fn(images) -> {layer: [parts]}`` computing ``model``'s outputs (see the module docstring).

    Args:
        model: a feature extractor returning a dict of layer outputs.
    """
    fast = _squeezenet_parts(model)
    if fast is not None:
        return fast
    return lambda images: {name: [value] for name, value in model(images).items()}


def _squeezenet_layer_names() -> set[str]:
    """The layers :func:`_squeezenet_parts` can return."""
    names = {"conv1", "pool1"} | {f"pool{fire[-1]}" for fire, *_, pooled in backbones.SQUEEZENET_FIRES if pooled}
    for fire, *_ in backbones.SQUEEZENET_FIRES:
        names |= {fire, f"{fire}_squeeze1x1", f"{fire}_expand1x1", f"{fire}_expand3x3"}
    return names


def _squeezenet_parts(model: keras.Model) -> Callable | None:
    """The part-wise SqueezeNet, or ``None`` if ``model`` is not a SqueezeNet extractor we can read."""
    import tensorflow as tf

    names = [layer.name for layer in model.layers]
    wanted = list(model.output) if isinstance(model.output, dict) else []
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if (
        names[1:3] != ["preprocess", "conv1"]
        or not isinstance(model.get_layer("preprocess"), backbones.CaffePreprocess)
        or model.get_layer("conv1").padding != "valid"
        or not wanted
        or not set(wanted) <= _squeezenet_layer_names()
        or any(layer.get_config().get("activation") != "relu" for layer in convs)
    ):
        return None
    dtype = model.get_layer("conv1").compute_dtype
    scale, shift = (127.5, 127.5) if model.get_layer("preprocess").signed else (255.0, 0.0)

    def conv(parts, name):
        """relu(conv(concat(parts)) + b) as a sum of one convolution per part (stride 1)."""
        layer = model.get_layer(name)
        kernel, bias = tf.cast(layer.kernel, dtype), tf.cast(layer.bias, dtype)
        out, start = None, 0
        for part in parts:
            width = part.shape[-1]
            y = tf.nn.conv2d(part, kernel[:, :, start : start + width], 1, layer.padding.upper())
            out, start = (y if out is None else out + y), start + width
        return [tf.nn.relu(tf.nn.bias_add(out, bias))]

    def pool(parts):
        return [tf.nn.max_pool2d(part, 3, 2, "VALID") for part in parts]  # (B, h, w, c) -> (B, h', w', c)

    with tf.init_scope():  # fold once, eagerly, even when first called while tracing a step
        layer = model.get_layer("conv1")
        kernel, bias = (np.asarray(keras.ops.convert_to_numpy(w), np.float32) for w in (layer.kernel, layer.bias))
        mean = np.asarray(backbones.CAFFE_MEAN_BGR, np.float32)
        # Caffe input = scale·BGR(x - centre) with centre = RGB(mean - shift) / scale, so
        # conv(Caffe input, K) = conv(x - centre, scale·K[:, :, ::-1]) = conv(x, scale·K[:, :, ::-1]) - Σ K·(mean - shift)
        kernel1 = tf.constant(kernel[:, :, ::-1] * scale, dtype)
        if dtype == "float32":  # exact: centre folded into the bias
            centre, bias1 = None, tf.constant(bias - np.einsum("hwio,i->o", kernel, mean - shift), dtype)
        else:  # bfloat16: centre the image in float32 first (bfloat16 keeps ~8 bits of [0, 1] pixels)
            centre, bias1 = tf.constant((mean[::-1] - shift) / scale), tf.constant(bias, dtype)

    def features(images):
        x = images if centre is None else images - centre
        x = tf.nn.conv2d(tf.cast(x, dtype), kernel1, 2, "VALID")  # (B, H/2, W/2, 64)
        out = {"conv1": [tf.nn.relu(tf.nn.bias_add(x, bias1))]}
        out["pool1"] = pool(out["conv1"])  # (B, H/4, W/4, 64)
        x = out["pool1"]
        for fire, _, _, pooled in backbones.SQUEEZENET_FIRES:
            if all(name in out for name in wanted):
                break
            squeeze = out[f"{fire}_squeeze1x1"] = conv(x, f"{fire}_squeeze1x1")  # (B, h, w, squeeze)
            out[f"{fire}_expand1x1"] = conv(squeeze, f"{fire}_expand1x1")  # (B, h, w, expand)
            out[f"{fire}_expand3x3"] = conv(squeeze, f"{fire}_expand3x3")  # (B, h, w, expand)
            x = out[fire] = out[f"{fire}_expand1x1"] + out[f"{fire}_expand3x3"]  # 2 parts: (B, h, w, 2·expand)
            if pooled:
                x = out[f"pool{fire[-1]}"] = pool(x)
        return {name: out[name] for name in wanted}

    return features
