"""CUT's nets: the CycleGAN ResNet generator read as an encoder, the MLP projection heads, patch sampling.

Park et al. 2020 (https://arxiv.org/abs/2007.15651), section 3.2: the generator's first half is the encoder
whose features at a few layers are compared patch by patch; each layer's patches go through a small MLP
``H_l`` (two dense layers, ReLU between) onto the unit sphere, and ``num_patches`` positions per layer are
sampled at random, the same positions for the generated image (queries) and its input (keys).

* :func:`nce_layer_names` / :func:`feature_model` pick the encoder layers of a built
  :func:`~stx_tf.cyclegan.nets.resnet_generator` by name and build a multi-output ``keras.Model`` over its
  layers (shared weights: no copy of the generator).
* :class:`PatchHeads` - one MLP per layer.
* :func:`sample_patch_ids` / :func:`gather_patches` - the random positions and the patches there.

The generator and the 70×70 PatchGAN themselves come from :mod:`stx_tf.cyclegan.nets` and :mod:`stx_tf.nn`.
"""

from __future__ import annotations

import re

import keras
from keras import layers, ops

from stx_tf.losses import l2_normalize
from stx_tf.nn import init

_BLOCK = re.compile(r"^res(\d+)_add$")


def nce_layer_names(generator: keras.Model, names) -> list[str]:
    """The generator layers ``names`` asks for, checked: ``resN_add`` past the generator's last residual
    block means its last block (tiny test nets have fewer than 5), repeats are dropped.

    Raises:
        ValueError: a name that is not a layer of ``generator``.
    """
    present = {layer.name for layer in generator.layers}
    blocks = sorted(int(m.group(1)) for m in map(_BLOCK.match, present) if m)
    resolved = []
    for name in names:
        match = _BLOCK.match(name)
        if match and blocks and name not in present and int(match.group(1)) > blocks[-1]:
            name = f"res{blocks[-1]}_add"
        if name not in present:
            raise ValueError(
                f"nce_layers: {generator.name} has no layer {name!r} (e.g. c7_pad, down1, down2, res1_add)"
            )
        if name not in resolved:
            resolved.append(name)
    return resolved


def feature_model(
    generator: keras.Model, names, with_image: bool = False, name: str | None = None
) -> keras.Model:
    """A ``keras.Model`` over ``generator``'s own layers returning the features of layers ``names``
    (``[(B, h_l, w_l, C_l), ...]``), preceded by the generated image ``(B, H, W, 3)`` when ``with_image``:
    one pass both translates and encodes. Without the image it stops at the deepest layer asked for."""
    outputs = [generator.get_layer(n).output for n in names]
    if with_image:
        outputs = [generator.output, *outputs]
    return keras.Model(generator.input, outputs, name=name or f"{generator.name}_features")


def sample_patch_ids(positions: int, count: int, seed):
    """``min(count, positions)`` distinct random positions among ``positions`` (``(P,)`` int32), drawn with
    ``seed`` (the model's :class:`~stx_tf.nn.StepSeed`). When ``count >= positions`` every position is
    taken, in order: PatchNCE does not depend on the order, so nothing random is needed."""
    if count >= positions:
        return ops.arange(positions, dtype="int32")
    order = ops.argsort(keras.random.uniform((positions,), seed=seed))
    return ops.cast(order[:count], "int32")


def gather_patches(features, ids):
    """The feature vectors at positions ``ids``: ``(B, H, W, C)``, ``(P,)`` -> ``(B, P, C)``."""
    height, width, channels = features.shape[1:]
    if height is None or width is None:
        raise ValueError("gather_patches needs feature maps of known height and width (fixed training size)")
    flat = ops.reshape(features, (-1, height * width, channels))  # (B, H·W, C)
    return ops.take(flat, ids, axis=1)


@keras.saving.register_keras_serializable(package="stx_tf")
class PatchHeads(layers.Layer):
    """The projection heads ``H_l`` of PatchNCE: per feature layer, ``Dense(units) → ReLU → Dense(units)``
    then L2 normalisation (Park et al. 2020, section 3.2; the authors' ``PatchSampleF``).

    As in the paper, each head is sized by the features it first sees: the layer builds itself on its
    first call from the channel counts. (:class:`~stx_tf.cut.model.CUT` calls :meth:`build` with the
    encoder's known shapes in its constructor, because JAX's stateless train step cannot create variables
    and the optimiser and a checkpoint restore need them before the first step.)

    Args:
        units: output width of both dense layers (256).
        **kwargs: ``keras.layers.Layer`` arguments.

    Call:
        ``heads([(B, P, C_0), (B, P, C_1), ...]) -> [(B, P, units), ...]`` float32, unit length.
    """

    def __init__(self, units: int = 256, **kwargs):
        super().__init__(**kwargs)
        if units < 1:
            raise ValueError(f"PatchHeads: units must be >= 1, got {units}")
        self.units = int(units)
        self.mlps = []

    def build(self, input_shape):
        """One MLP per shape in the list ``input_shape`` (only the last axis, the channels, matters)."""
        for i, shape in enumerate(input_shape):
            hidden = layers.Dense(self.units, activation="relu", kernel_initializer=init(),
                                  dtype=self.dtype_policy, name=f"head{i}_hidden")
            out = layers.Dense(self.units, kernel_initializer=init(), dtype=self.dtype_policy,
                               name=f"head{i}_out")
            hidden.build((None, shape[-1]))
            out.build((None, self.units))
            self.mlps.append([hidden, out])
        self.built = True

    def call(self, features):
        if len(features) != len(self.mlps):
            raise ValueError(f"PatchHeads: built for {len(self.mlps)} layers, called with {len(features)}")
        return [l2_normalize(out(hidden(f))) for f, (hidden, out) in zip(features, self.mlps)]

    def compute_output_shape(self, input_shape):
        return [(*shape[:-1], self.units) for shape in input_shape]

    def get_config(self):
        return {**super().get_config(), "units": self.units}
