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
        ``precision="bfloat16"``), each Gram matrix is one matrix product with a hand-written gradient
        (``∂L/∂F = F (∂L/∂G + ∂L/∂Gᵀ) / (2NM)``: one product instead of autodiff's two einsums), and the
        total variation uses plain slices (the gradient of strided slices is several times slower on
        CPU). Everything after the convolutions (Grams, differences, sums) is float32, except that
        bfloat16 features enter the Gram products as bfloat16 (float32 accumulation).
        """
        import tensorflow as tf

        if image.shape[-1] == 1:
            image = tf.tile(image, (1, 1, 1, 3))
        feats = self.step_extractor(self._cover(image))
        cfg = self.cfg
        style = 0.0
        for k in cfg.style_layers:
            diff = _gram_paper(feats[k]) - tf.cast(self.style_grams[k], tf.float32)
            style = style + self.layer_weights[k] * tf.reduce_sum(tf.square(diff))
        content = 0.0
        for k in cfg.content_layers:
            diff = tf.cast(feats[k], tf.float32) - tf.cast(self.content_targets[k], tf.float32)
            content = content + 0.5 * tf.reduce_sum(tf.square(diff))
        tv = _total_variation(image)
        return cfg.style_weight * (style + cfg.content_weight * content) + cfg.tv_weight * tv


def _gram_paper(features):
    """``(1, H, W, C)`` -> ``(1, C, C)`` float32 Gram divided by ``2·C·H·W`` (``losses.gram_matrix(...,
    "paper")``) as one matrix product, with the symmetric gradient written out (one product)."""
    import tensorflow as tf

    shape = tf.shape(features)
    flat = tf.reshape(features, (shape[0], -1, shape[-1]))  # (B, M, C)
    scale = 1.0 / (2.0 * tf.cast(shape[1] * shape[2] * shape[3], tf.float32))

    @tf.custom_gradient
    def gram(flat):
        g = tf.cast(tf.linalg.matmul(flat, flat, transpose_a=True), tf.float32) * scale

        def grad(upstream):  # (B, C, C) -> (B, M, C)
            sym = (upstream + tf.linalg.matrix_transpose(upstream)) * scale
            return tf.linalg.matmul(flat, tf.cast(sym, flat.dtype))

        return g, grad

    return gram(flat)


def _total_variation(images):
    """``losses.total_variation`` (sum of absolute differences) with ``tf.slice`` instead of strided
    slices, whose gradient is several times faster on CPU."""
    import tensorflow as tf

    shape = tf.shape(images)
    down = tf.slice(images, [0, 1, 0, 0], [-1, -1, -1, -1]) - tf.slice(
        images, [0, 0, 0, 0], [-1, shape[1] - 1, -1, -1]
    )
    right = tf.slice(images, [0, 0, 1, 0], [-1, -1, -1, -1]) - tf.slice(
        images, [0, 0, 0, 0], [-1, -1, shape[2] - 1, -1]
    )
    return tf.reduce_sum(tf.abs(down)) + tf.reduce_sum(tf.abs(right))
