"""The perceptual loss of fast style transfer: content + Gram style + total variation, per example.

Johnson et al. 2016 (https://arxiv.org/abs/1603.08155), section 3: a frozen ImageNet network ``φ`` gives
the *feature reconstruction* loss at one layer (content) and the *style reconstruction* loss (squared
Frobenius distance of Gram matrices) over several layers; a total-variation regulariser keeps the output
smooth. The painting's Gram matrices are computed once, when the loss is built.

The backbones and the loss formulas come from :mod:`stx_tf.backbones` and :mod:`stx_tf.losses`; this
module only chooses the layers and combines the terms.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from stx_tf import backbones
from stx_tf import losses as L

#: ``(style_layers, content_layers)`` per backbone. VGG19: the analogues of the paper's VGG16 layers
#: (style relu1_2, relu2_2, relu3_3, relu4_3; content relu2_2). SqueezeNet: the style layers that the
#: Gatys check in ``../shared`` validated, content one stage deeper than conv1 so shapes survive.
FAST_STYLE_LAYERS = {
    "vgg19": (("block1_conv2", "block2_conv2", "block3_conv4", "block4_conv4"), ("block2_conv2",)),
    "squeezenet": (("conv1", "fire2", "fire3", "fire5", "fire7"), ("fire3",)),
}


def default_layers(backbone: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(style_layers, content_layers)`` used for fast style transfer with ``backbone``."""
    key = backbone.lower()
    if key not in FAST_STYLE_LAYERS:
        return backbones.default_layers(key)
    return FAST_STYLE_LAYERS[key]


class PerceptualLoss:
    """Content + style + TV loss of a batch of stylised photos against their photos and one painting.

    Args:
        extractor: frozen ``{layer: features}`` model (:func:`stx_tf.backbones.feature_extractor`) that
            returns at least ``style_layers`` and ``content_layers``; input ``[0, 1]`` images.
        style_image: the painting, float ``(H, W, 3)`` in ``[0, 1]``.
        style_layers / content_layers: layer names.
        content_weight / style_weight / tv_weight: the weights of the three terms.
        style_layer_weights: optional per-style-layer weights multiplying the normalisation below.
        normalize: make every term scale-free, so one set of weights suits any backbone and layer choice:
            each style layer is divided by ``L · mean(A_l²)`` (``A_l`` the painting's Gram, ``L`` the number
            of layers), and each content layer by the mean square of the photo's features there. A photo
            left unchanged then has a style loss around 1 and a content loss of 0. ``False``: the raw
            :mod:`stx_tf.losses` values (weights must then be tuned per backbone, as in the paper).
    """

    def __init__(
        self,
        extractor,
        style_image,
        style_layers,
        content_layers,
        content_weight: float = 1.0,
        style_weight: float = 1.0,
        tv_weight: float = 0.0,
        style_layer_weights=None,
        normalize: bool = True,
    ):
        self.extractor = extractor
        self.style_layers = tuple(style_layers)
        self.content_layers = tuple(content_layers)
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.tv_weight = float(tv_weight)
        self.normalize = bool(normalize)
        style = np.asarray(style_image, np.float32)
        if style.ndim != 3 or style.shape[-1] != 3:
            raise ValueError(f"style image must be (H, W, 3), got shape {style.shape}")
        feats = extractor(style[None], training=False)  # {layer: (1, h, w, c)}
        self.style_grams = {name: L.gram_matrix(feats[name]) for name in self.style_layers}  # (1, c, c)
        given = [1.0] * len(self.style_layers) if style_layer_weights is None else list(style_layer_weights)
        if len(given) != len(self.style_layers):
            raise ValueError(f"{len(given)} style layer weights for {len(self.style_layers)} style layers")
        if self.normalize:
            scale = [
                len(given) * float(ops.mean(ops.square(self.style_grams[n]))) + 1e-12
                for n in self.style_layers
            ]
            given = [w / s for w, s in zip(given, scale)]
        self.style_layer_weights = given

    def per_example(self, photos, styled) -> dict:
        """Loss terms per example, each ``(B,)``: ``content``, ``style``, ``tv`` and the weighted ``total``.

        Args:
            photos: ``(B, H, W, 3)`` content images in ``[0, 1]``.
            styled: ``(B, H, W, 3)`` the transform net's outputs in ``[0, 1]``.
        """
        batch = ops.shape(styled)[0]
        both = ops.concatenate([ops.cast(styled, "float32"), ops.cast(photos, "float32")], axis=0)
        feats = self.extractor(both, training=False)  # one pass: (2B, h, w, c) per layer
        out = {name: feats[name][:batch] for name in self.content_layers}
        target = {name: ops.stop_gradient(feats[name][batch:]) for name in self.content_layers}
        content_weights = None
        if self.normalize:  # relative error per example and layer, averaged over the content layers
            rms = {
                k: ops.sqrt(ops.mean(ops.square(v), axis=(1, 2, 3), keepdims=True) + 1e-6)
                for k, v in target.items()
            }
            out = {k: out[k] / rms[k] for k in self.content_layers}
            target = {k: target[k] / rms[k] for k in self.content_layers}
            content_weights = [1.0 / len(self.content_layers)] * len(self.content_layers)
        content = L.content_loss_per_example(out, target, content_weights)
        style = L.style_loss_per_example(
            {k: feats[k][:batch] for k in self.style_layers}, self.style_grams, self.style_layer_weights
        )
        tv = L.total_variation_per_example(styled, mean=True)
        total = L.total_loss(
            content,
            style,
            tv,
            content_weight=self.content_weight,
            style_weight=self.style_weight,
            tv_weight=self.tv_weight,
        )
        return {"content": content, "style": style, "tv": tv, "total": total}


def build_perceptual_loss(
    backbone: str,
    style_image,
    weights="imagenet",
    style_layers=None,
    content_layers=None,
    **loss_kwargs,
) -> PerceptualLoss:
    """Build the frozen feature extractor of ``backbone`` and the loss for one painting.

    Args:
        backbone: ``"vgg19"`` or ``"squeezenet"``.
        style_image: the painting, ``(H, W, 3)`` float in ``[0, 1]``.
        weights: ``"imagenet"``, a weights file, or ``None`` (random: tests and smoke runs).
        style_layers / content_layers: override :func:`default_layers`.
        **loss_kwargs: ``content_weight``, ``style_weight``, ``tv_weight``, ``style_layer_weights``,
            ``normalize`` (see :class:`PerceptualLoss`).
    """
    default_style, default_content = default_layers(backbone)
    style_layers = tuple(style_layers or default_style)
    content_layers = tuple(content_layers or default_content)
    wanted = list(dict.fromkeys(style_layers + content_layers))
    extractor = backbones.feature_extractor(backbone, layers=wanted, weights=weights)
    return PerceptualLoss(extractor, style_image, style_layers, content_layers, **loss_kwargs)
