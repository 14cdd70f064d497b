"""The Gatys objective: the frozen feature extractor, :class:`StyleObjective` (the paper's loss) and the
cheap way its steps compute it.

The loss (the paper's definitions, :mod:`stx_tf.losses`)::

    L(x) = β · (Σ_l w_l · E_l(x)  +  λ · Σ_c ½ Σ (F_c(x) - F_c(p))²)  +  tv · TV(x)

with ``E_l = 1/(4 N_l² M_l²) Σ (G_l(x) - A_l)²`` the style loss of layer ``l`` (Gram matrices of the
painting precomputed once; several paintings folded into one weighted target Gram per layer),
``λ = content_weight`` (the paper's ratio α/β; its Figure 3 sweeps 1e-5 … 1e-2), ``β = style_weight`` and
``tv = tv_weight``.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from stx_tf import backbones, losses, precision
from stx_tf.nst.config import StylizeConfig
from stx_tf.nst.step_features import step_features

_EXTRACTORS: dict = {}


def extractor(cfg: StylizeConfig, policy: str = "float32") -> keras.Model:
    """The (cached) frozen feature model for ``cfg``'s backbone, layers and weights.

    ``policy="mixed_bfloat16"``: a copy of the float32 model whose layers compute in bfloat16 (float32
    weights, bfloat16 activations, :func:`stx_tf.precision.cast_copy`); the preprocessing stays float32.
    """
    layer_names = tuple(dict.fromkeys(cfg.style_layers + cfg.content_layers))
    weights = cfg.weights
    key = (cfg.backbone, layer_names, None if weights is None else str(weights))
    if key not in _EXTRACTORS:
        _EXTRACTORS[key] = backbones.feature_extractor(cfg.backbone, list(layer_names), weights=weights)
    policy = precision.normalise(policy)
    if key + (policy,) not in _EXTRACTORS:
        model = _EXTRACTORS[key]
        keep = [layer for layer in model.layers if isinstance(layer, backbones.CaffePreprocess)]
        _EXTRACTORS[key + (policy,)] = precision.cast_copy(model, policy, keep=keep)
    return _EXTRACTORS[key + (policy,)]


class StyleObjective:
    """The Gatys loss of an image against one content image and (a blend of) style images.

    Targets (content features, style Grams) are computed once in ``__init__`` with ``extractor``. Calling
    the objective on a ``(1, H, W, 3)`` image (or ``(1, H, W, 1)`` luminance, tiled to grey RGB) returns the
    scalar loss, computed in float32 with ``extractor`` (the reference value: reported losses, early
    stopping and benchmarks use it). :meth:`step_loss` is the same loss computed the fast way for the
    optimisation steps. Images are reflect-padded at the bottom and right by
    :func:`stx_tf.backbones.cover_padding` before the network, so that sizes its strided layers do not
    tile still get every pixel painted.

    Args:
        extractor: a model from :func:`stx_tf.backbones.feature_extractor` returning the layers below.
        content: ``(H, W, 3)`` content image in [0, 1].
        styles: list of ``(h, w, 3)`` style images in [0, 1].
        cfg: a resolved :class:`StylizeConfig`.
        style_image_weights: relative weights of the style images (default equal).
        step_extractor: the model :meth:`step_loss` uses, e.g. the bfloat16 copy of ``extractor`` from
            ``extractor(cfg, "mixed_bfloat16")``; default ``extractor``.
    """

    def __init__(
        self, extractor, content, styles, cfg: StylizeConfig, style_image_weights=None, step_extractor=None
    ):
        self.extractor = extractor
        self.step_extractor = step_extractor or extractor
        self.cfg = cfg
        weights = np.asarray([1] * len(styles) if style_image_weights is None else style_image_weights, float)
        if len(weights) != len(styles) or weights.sum() <= 0 or (weights < 0).any():
            raise ValueError(
                f"style_weights must be {len(styles)} non-negative numbers with a positive sum, got {list(weights)}"
            )
        # Reflect-pad bottom/right so every pixel reaches the deepest layers (no unpainted edge stripe).
        self.padding = tuple(backbones.cover_padding(cfg.backbone, n) for n in content.shape[:2])
        content_feats = extractor(self._cover(content[None]))
        self.content_targets = {k: content_feats[k] for k in cfg.content_layers}
        # Σ_s w_s ||G - A_s||² = ||G - Σ_s w_s A_s||² + const: one blended target Gram per layer.
        grams = {k: 0.0 for k in cfg.style_layers}
        for weight, style in zip(weights / weights.sum(), styles):
            feats = extractor(style[None])
            for k in cfg.style_layers:
                grams[k] = grams[k] + float(weight) * losses.gram_matrix(feats[k], "paper")
        strength = float(cfg.style_strength)
        if strength != 1.0:  # interpolate between the photo's own style and the painting's
            for k in cfg.style_layers:
                own = losses.gram_matrix(content_feats[k], "paper")
                grams[k] = strength * grams[k] + (1.0 - strength) * own
        self.style_grams = grams
        self.layer_weights = dict(zip(cfg.style_layers, cfg.style_layer_weights))

    def _cover(self, images):
        """``(B, H, W, C)`` -> ``(B, H + pad_h, W + pad_w, C)``, reflect-padded (see ``cover_padding``)."""
        pad_h, pad_w = self.padding
        if not (pad_h or pad_w):
            return images
        return ops.pad(images, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="reflect")

    def parts(self, image):
        """``(style, content, tv)`` loss terms (unweighted except the per-layer style weights)."""
        if image.shape[-1] == 1:  # luminance-only transfer: grey RGB
            image = ops.tile(image, (1, 1, 1, 3))
        feats = self.extractor(self._cover(image))
        style = losses.style_loss(
            {k: feats[k] for k in self.cfg.style_layers},
            self.style_grams,
            self.layer_weights,
            normalize="paper",
        )
        content = losses.content_loss(
            {k: feats[k] for k in self.cfg.content_layers}, self.content_targets, normalize="paper"
        )
        tv = losses.total_variation(image)
        return style, content, tv

    def __call__(self, image):
        style, content, tv = self.parts(image)
        cfg = self.cfg
        return cfg.style_weight * (style + cfg.content_weight * content) + cfg.tv_weight * tv

    def step_loss(self, image):
        """The same loss as calling the objective, computed for the optimisation steps (TensorFlow only).

        Differences are in how, not what: features come from ``step_extractor`` (the bfloat16 copy with
        ``precision="bfloat16"``) through :func:`~stx_tf.nst.step_features.step_features` (SqueezeNet
        without its concatenations and with the preprocessing folded into ``conv1``); each layer's style
        term is :func:`gram_distance` (the Gram blocks and a hand-written gradient: one product per block
        instead of autodiff's two einsums) and the total variation has a hand-written gradient (autodiff's
        of slices is several times slower on CPU). Everything after the convolutions (Grams, differences,
        sums) is float32, except that bfloat16 features enter the Gram products as bfloat16 (float32
        accumulation).
        """
        import tensorflow as tf

        if image.shape[-1] == 1:
            image = tf.tile(image, (1, 1, 1, 3))
        if getattr(self, "_parts_of", None) is not self.step_extractor:  # built once per step extractor
            self._parts_fn, self._parts_of = step_features(self.step_extractor), self.step_extractor
        feats = self._parts_fn(self._cover(image))
        cfg = self.cfg
        style = 0.0
        for k in cfg.style_layers:
            style = style + self.layer_weights[k] * gram_distance(feats[k], self.style_grams[k])
        content = 0.0
        for k in cfg.content_layers:
            parts = feats[k]
            targets = tf.split(tf.cast(self.content_targets[k], tf.float32), [p.shape[-1] for p in parts], -1)
            for part, target in zip(parts, targets):
                content = content + 0.5 * tf.reduce_sum(tf.square(tf.cast(part, tf.float32) - target))
        tv = _total_variation(image)
        return cfg.style_weight * (style + cfg.content_weight * content) + cfg.tv_weight * tv


def gram_distance(parts, target):
    """``Σ (G - A)²`` for ``G`` the paper-normalised Gram matrix of ``concat(parts, -1)`` (``(1, h, w, c_i)``
    each; ``losses.gram_matrix(..., "paper")``: ``FᵀF / (2·C·h·w)``) and ``A`` a symmetric ``(1, C, C)``
    target, without the concatenation.

    ``G`` is symmetric, so only its blocks on and above the diagonal are computed (3 of 4 for two parts).
    The gradient is written out: ``∂/∂F_i = 4s Σ_j F_j (G - A)_ji`` (``s`` the normalisation), one product
    per block, in the parts' dtype.
    """
    import tensorflow as tf

    widths = [p.shape[-1] for p in parts]
    offsets = [sum(widths[:i]) for i in range(len(widths) + 1)]
    shape = tf.shape(parts[0])
    scale = 1.0 / (2.0 * tf.cast(shape[1] * shape[2] * offsets[-1], tf.float32))
    target = tf.cast(target, tf.float32)[0]

    @tf.custom_gradient
    def distance(*parts):
        flats = [tf.reshape(p, (-1, p.shape[-1])) for p in parts]  # (M, c_i)
        diffs, total = {}, 0.0
        for i in range(len(flats)):
            for j in range(i, len(flats)):
                gram = tf.cast(tf.linalg.matmul(flats[i], flats[j], transpose_a=True), tf.float32) * scale
                diffs[i, j] = gram - target[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]]
                total = total + (1.0 if i == j else 2.0) * tf.reduce_sum(tf.square(diffs[i, j]))

        def grad(upstream):
            factor = 4.0 * scale * upstream
            grads = []
            for i, part in enumerate(parts):
                acc = 0.0
                for j, flat in enumerate(flats):  # F_j (G - A)_ji = F_j (G - A)_ijᵀ
                    block = diffs[i, j] if i <= j else tf.transpose(diffs[j, i])
                    acc = acc + tf.linalg.matmul(flat, tf.cast(block * factor, flat.dtype), transpose_b=True)
                grads.append(tf.reshape(acc, tf.shape(part)))
            return grads

        return total, grad

    return distance(*parts)


def _total_variation(images):
    """``losses.total_variation`` (sum of absolute differences) with its gradient written out
    (``sign`` of the differences, shifted): autodiff's gradient of slices is several times slower on CPU."""
    import tensorflow as tf

    @tf.custom_gradient
    def tv(x):
        down = x[:, 1:] - x[:, :-1]
        right = x[:, :, 1:] - x[:, :, :-1]

        def grad(upstream):
            sd, sr = tf.sign(down), tf.sign(right)
            gd = tf.pad(sd, [[0, 0], [1, 0], [0, 0], [0, 0]]) - tf.pad(sd, [[0, 0], [0, 1], [0, 0], [0, 0]])
            gr = tf.pad(sr, [[0, 0], [0, 0], [1, 0], [0, 0]]) - tf.pad(sr, [[0, 0], [0, 0], [0, 1], [0, 0]])
            return (gd + gr) * upstream

        return tf.reduce_sum(tf.abs(down)) + tf.reduce_sum(tf.abs(right)), grad

    return tv(images)
