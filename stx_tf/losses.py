"""Losses shared by Gatys style transfer, fast style transfer, CycleGAN and DCGAN.

Perceptual losses follow Gatys, Ecker & Bethge, "A Neural Algorithm of Artistic Style"
(https://arxiv.org/abs/1508.06576) and Johnson et al., "Perceptual Losses for Real-Time Style Transfer"
(https://arxiv.org/abs/1603.08155). Adversarial losses: least-squares GAN (Mao et al.,
https://arxiv.org/abs/1611.04076) and the original BCE-from-logits GAN (Goodfellow et al.,
https://arxiv.org/abs/1406.2661). Cycle and identity losses: Zhu et al., CycleGAN
(https://arxiv.org/abs/1703.10593). PatchNCE: Park et al., "Contrastive Learning for Unpaired
Image-to-Image Translation" (CUT, https://arxiv.org/abs/2007.15651).

Conventions:

* Everything is written with ``keras.ops`` and works on any backend tensors or NumPy arrays.
* Functions named ``*_per_example`` return one value per example, shape ``(B,)``. Under a distribution
  strategy reduce them with :func:`reduce_loss` and the GLOBAL batch size
  (``sum(per_example) / global_batch_size``; the same as ``tf.nn.compute_average_loss``), so that summing
  the replicas' losses gives the mean over the global batch.
* The plain-named functions (``content_loss``, ``style_loss``, ``lsgan_generator_loss`` ...) are
  ``reduce_loss(<per_example>)``: the mean over the batch, convenient on one device.
* Feature collections may be a single tensor, a sequence of tensors or a ``{layer_name: tensor}`` dict
  (dicts are matched by key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from keras import ops

__all__ = [
    "gram_matrix",
    "content_loss",
    "content_loss_per_example",
    "style_loss",
    "style_loss_per_example",
    "total_variation",
    "total_variation_per_example",
    "total_loss",
    "lsgan_generator_loss",
    "lsgan_generator_loss_per_example",
    "lsgan_discriminator_loss",
    "lsgan_discriminator_loss_per_example",
    "bce_generator_loss",
    "bce_generator_loss_per_example",
    "bce_discriminator_loss",
    "bce_discriminator_loss_per_example",
    "cycle_loss",
    "cycle_loss_per_example",
    "identity_loss",
    "identity_loss_per_example",
    "l2_normalize",
    "patch_nce_loss_per_example",
    "reduce_loss",
]

#: PatchNCE temperature τ (Park et al. 2020, section 3.1).
NCE_TEMPERATURE = 0.07

GRAM_NORMALIZATIONS = ("hw", "paper", "none")


# --------------------------------------------------------------------------------------------- helpers
def reduce_loss(per_example, global_batch_size: int | None = None):
    """Reduce a per-example loss ``(B,)`` to a scalar.

    Args:
        per_example: losses of shape ``(B,)`` (any shape is flattened).
        global_batch_size: under a distribution strategy, the batch size summed over all replicas: the
            result is ``sum(per_example) / global_batch_size`` (like ``tf.nn.compute_average_loss``) and
            the replicas' results add up to the global mean. ``None``: the plain mean.
    """
    per_example = ops.convert_to_tensor(per_example)
    if global_batch_size is None:
        return ops.mean(per_example)
    return ops.sum(per_example) / ops.cast(global_batch_size, per_example.dtype)


def _mean_per_example(x):
    """Mean over every axis but the first: ``(B, ...) -> (B,)``."""
    x = ops.convert_to_tensor(x)
    if len(x.shape) <= 1:
        return x
    return ops.mean(x, axis=tuple(range(1, len(x.shape))))


def _sum_per_example(x):
    x = ops.convert_to_tensor(x)
    if len(x.shape) <= 1:
        return x
    return ops.sum(x, axis=tuple(range(1, len(x.shape))))


def _pairs(features, targets, weights):
    """Match features to targets (dict by key, sequence by position) with per-layer weights."""
    if isinstance(features, Mapping):
        keys = list(features)
        missing = [k for k in keys if k not in targets]
        if missing:
            raise ValueError(f"no target for layer(s) {missing}; targets have {list(targets)}")
        feats = [features[k] for k in keys]
        targs = [targets[k] for k in keys]
        if weights is None:
            ws = [1.0] * len(keys)
        elif isinstance(weights, Mapping):
            ws = [float(weights.get(k, 0.0)) for k in keys]
        else:
            ws = [float(w) for w in weights]
    else:
        if not isinstance(features, Sequence):
            features, targets = [features], [targets]
        feats, targs = list(features), list(targets)
        if len(feats) != len(targs):
            raise ValueError(f"{len(feats)} feature maps but {len(targs)} targets")
        if isinstance(weights, Mapping):
            raise ValueError("per-layer weights given as a dict need features given as a dict")
        ws = [1.0] * len(feats) if weights is None else [float(w) for w in weights]
    if len(ws) != len(feats):
        raise ValueError(f"{len(ws)} layer weights for {len(feats)} layers")
    return list(zip(feats, targs, ws))


# --------------------------------------------------------------------------------------- perceptual
def gram_matrix(features, normalize: str = "hw"):
    """Gram matrix of feature maps: channel-by-channel correlations summed over positions.

    ``G[b, c, d] = Σ_{i,j} F[b, i, j, c] · F[b, i, j, d]`` then scaled:

    * ``"hw"`` (default): divided by ``H·W`` (the TensorFlow tutorial / Johnson et al. use this, up to C).
    * ``"paper"``: divided by ``2·N·M`` with ``N = C`` channels and ``M = H·W`` positions, so that the
      summed squared difference of two such Grams is exactly the paper's layer loss
      ``E_l = 1/(4 N² M²) Σ (G_l - A_l)²`` (see :func:`style_loss_per_example`).
    * ``"none"``: the raw sum.

    Args:
        features: ``(B, H, W, C)`` feature maps.
        normalize: ``"hw"``, ``"paper"`` or ``"none"``.

    Returns:
        ``(B, C, C)`` Gram matrices (float32 when the features are float16/bfloat16).
    """
    if normalize not in GRAM_NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {GRAM_NORMALIZATIONS}, got {normalize!r}")
    x = ops.convert_to_tensor(features)
    if x.dtype in ("float16", "bfloat16"):
        x = ops.cast(x, "float32")
    shape = ops.shape(x)
    flat = ops.reshape(x, (shape[0], -1, shape[-1]))  # (B, M, C)
    gram = ops.einsum("bmc,bmd->bcd", flat, flat)  # (B, C, C)
    if normalize == "none":
        return gram
    positions = ops.cast(shape[1] * shape[2], gram.dtype)
    if normalize == "hw":
        return gram / positions
    return gram / (2.0 * positions * ops.cast(shape[-1], gram.dtype))


def content_loss_per_example(features, targets, layer_weights=None, normalize: str = "mean"):
    """Content loss per example: Σ_layers w_l · d(F_l, P_l), shape ``(B,)``.

    ``d`` is ``mean((F - P)²)`` for ``normalize="mean"`` (the TensorFlow tutorial / Johnson et al. form,
    independent of the image size) and the paper's ``½ Σ (F - P)²`` for ``normalize="paper"``.

    Args:
        features: the image's feature maps (tensor, sequence, or dict).
        targets: the content image's feature maps, same structure (batch 1 broadcasts).
        layer_weights: optional per-layer weights (sequence or dict), default 1 each.
        normalize: ``"mean"`` or ``"paper"``.
    """
    if normalize not in ("mean", "paper"):
        raise ValueError(f"normalize must be 'mean' or 'paper', got {normalize!r}")
    total = 0.0
    for feat, targ, weight in _pairs(features, targets, layer_weights):
        feat = ops.convert_to_tensor(feat)
        squared = ops.square(feat - ops.cast(targ, feat.dtype))
        per = _mean_per_example(squared) if normalize == "mean" else 0.5 * _sum_per_example(squared)
        total = total + weight * ops.cast(per, "float32")
    return total


def content_loss(features, targets, layer_weights=None, normalize: str = "mean"):
    """Batch mean of :func:`content_loss_per_example`."""
    return reduce_loss(content_loss_per_example(features, targets, layer_weights, normalize))


def style_loss_per_example(features, target_grams, layer_weights=None, normalize: str = "hw"):
    """Style loss per example: Σ_layers w_l · d(G(F_l), A_l), shape ``(B,)``.

    ``d`` is the MEAN squared difference of the Grams for ``normalize="hw"`` (TensorFlow tutorial form)
    and the SUM for ``normalize="paper"``, which then equals the paper's ``E_l = 1/(4N²M²) Σ (G-A)²``.

    Args:
        features: the image's feature maps ``(B, H, W, C)`` (tensor, sequence, or dict).
        target_grams: precomputed target Grams ``(1 or B, C, C)`` from :func:`gram_matrix` with the same
            ``normalize``, same structure as ``features``.
        layer_weights: per-layer weights ``w_l`` (sequence or dict); default 1 each. The paper uses
            ``1/L`` for the ``L`` style layers.
        normalize: Gram normalisation, see :func:`gram_matrix`.
    """
    total = 0.0
    reduce = _mean_per_example if normalize == "hw" else _sum_per_example
    for feat, target, weight in _pairs(features, target_grams, layer_weights):
        gram = gram_matrix(feat, normalize)
        total = total + weight * reduce(ops.square(gram - ops.cast(target, gram.dtype)))
    return total


def style_loss(features, target_grams, layer_weights=None, normalize: str = "hw"):
    """Batch mean of :func:`style_loss_per_example`."""
    return reduce_loss(style_loss_per_example(features, target_grams, layer_weights, normalize))


def total_variation_per_example(images, squared: bool = False, mean: bool = False):
    """Total variation of images ``(B, H, W, C)`` -> ``(B,)``.

    ``Σ |x[i+1,j] - x[i,j]| + Σ |x[i,j+1] - x[i,j]|`` (like ``tf.image.total_variation``), or with
    squared differences (``squared=True``, Johnson et al.). ``mean=True`` averages each of the two
    difference maps instead of summing, making the value independent of the image size.
    """
    x = ops.convert_to_tensor(images)
    dy = x[:, 1:, :, :] - x[:, :-1, :, :]
    dx = x[:, :, 1:, :] - x[:, :, :-1, :]
    f = ops.square if squared else ops.abs
    reduce = _mean_per_example if mean else _sum_per_example
    return reduce(f(dy)) + reduce(f(dx))


def total_variation(images, squared: bool = False, mean: bool = False):
    """Batch mean of :func:`total_variation_per_example`."""
    return reduce_loss(total_variation_per_example(images, squared, mean))


def total_loss(
    content=0.0,
    style=0.0,
    tv=0.0,
    adversarial=0.0,
    *,
    content_weight: float = 1.0,
    style_weight: float = 1.0,
    tv_weight: float = 0.0,
    adversarial_weight: float = 0.0,
):
    """Weighted total ``α·content + β·style + tv·TV + γ·adversarial``.

    Works on scalars and on per-example ``(B,)`` losses alike. With ``style_weight=1`` and
    ``content_weight=λ`` it is the ``λ·content + style (+ β·adversarial)`` form.
    """
    out = content_weight * content + style_weight * style
    if tv_weight:
        out = out + tv_weight * tv
    if adversarial_weight:
        out = out + adversarial_weight * adversarial
    return out


# -------------------------------------------------------------------------------------- adversarial
def _real_target(label_smoothing: float) -> float:
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    return 1.0 - label_smoothing


def lsgan_generator_loss_per_example(fake_output):
    """LSGAN generator loss per example: ``mean((D(G(z)) - 1)²)`` -> ``(B,)``.

    ``fake_output`` is the discriminator's raw output on generated images, any shape ``(B, ...)``
    (e.g. a PatchGAN map ``(B, h, w, 1)``).
    """
    return _mean_per_example(ops.square(ops.convert_to_tensor(fake_output) - 1.0))


def lsgan_generator_loss(fake_output):
    """Batch mean of :func:`lsgan_generator_loss_per_example`."""
    return reduce_loss(lsgan_generator_loss_per_example(fake_output))


def lsgan_discriminator_loss_per_example(real_output, fake_output, label_smoothing: float = 0.0):
    """LSGAN discriminator loss per example: ``½·(mean((D(x) - t)²) + mean(D(G(z))²))`` -> ``(B,)``.

    ``t = 1 - label_smoothing`` (one-sided smoothing). The ½ is CycleGAN's, slowing D relative to G.
    """
    target = _real_target(label_smoothing)
    real = _mean_per_example(ops.square(ops.convert_to_tensor(real_output) - target))
    fake = _mean_per_example(ops.square(ops.convert_to_tensor(fake_output)))
    return 0.5 * (real + fake)


def lsgan_discriminator_loss(real_output, fake_output, label_smoothing: float = 0.0):
    """Batch mean of :func:`lsgan_discriminator_loss_per_example`."""
    return reduce_loss(lsgan_discriminator_loss_per_example(real_output, fake_output, label_smoothing))


def _bce_logits(logits, target: float):
    """Element-wise stable binary cross-entropy from logits against a constant target."""
    logits = ops.convert_to_tensor(logits)
    return ops.relu(logits) - logits * target + ops.log1p(ops.exp(-ops.abs(logits)))


def bce_generator_loss_per_example(fake_logits):
    """Non-saturating GAN generator loss per example: ``mean(BCE(1, D(G(z))))`` -> ``(B,)``."""
    return _mean_per_example(_bce_logits(fake_logits, 1.0))


def bce_generator_loss(fake_logits):
    """Batch mean of :func:`bce_generator_loss_per_example`."""
    return reduce_loss(bce_generator_loss_per_example(fake_logits))


def bce_discriminator_loss_per_example(real_logits, fake_logits, label_smoothing: float = 0.0):
    """GAN discriminator loss per example: ``½·(BCE(t, D(x)) + BCE(0, D(G(z))))`` -> ``(B,)``.

    Inputs are logits (no sigmoid). ``t = 1 - label_smoothing`` (one-sided label smoothing,
    Salimans et al. 2016). The ½ equals Keras' BCE over the concatenated real and fake batch.
    """
    target = _real_target(label_smoothing)
    real = _mean_per_example(_bce_logits(real_logits, target))
    fake = _mean_per_example(_bce_logits(fake_logits, 0.0))
    return 0.5 * (real + fake)


def bce_discriminator_loss(real_logits, fake_logits, label_smoothing: float = 0.0):
    """Batch mean of :func:`bce_discriminator_loss_per_example`."""
    return reduce_loss(bce_discriminator_loss_per_example(real_logits, fake_logits, label_smoothing))


# ------------------------------------------------------------------------------------ cycle / identity
def cycle_loss_per_example(real, cycled):
    """Cycle-consistency L1 loss per example: ``mean(|x - F(G(x))|)`` -> ``(B,)``.

    Multiply by CycleGAN's ``λ_cycle`` (10) in the trainer.
    """
    real = ops.convert_to_tensor(real)
    return _mean_per_example(ops.abs(real - ops.cast(cycled, real.dtype)))


def cycle_loss(real, cycled):
    """Batch mean of :func:`cycle_loss_per_example`."""
    return reduce_loss(cycle_loss_per_example(real, cycled))


def identity_loss_per_example(real, same):
    """Identity L1 loss per example: ``mean(|y - G(y)|)`` -> ``(B,)``.

    CycleGAN weights it by ``0.5·λ_cycle`` in the trainer.
    """
    return cycle_loss_per_example(real, same)


def identity_loss(real, same):
    """Batch mean of :func:`identity_loss_per_example`."""
    return reduce_loss(identity_loss_per_example(real, same))


# ------------------------------------------------------------------------------------------ PatchNCE
def l2_normalize(x, axis: int = -1, epsilon: float = 1e-7):
    """``x / (‖x‖₂ + ε)`` along ``axis``, in float32 (the projection of CUT's patch features onto the
    unit sphere; ε as in the paper's code). The norm is floored at ``ε`` inside the square root, so a zero
    vector (a head whose ReLUs are all off) has a zero gradient instead of NaN."""
    x = ops.cast(ops.convert_to_tensor(x), "float32")
    squared = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x / (ops.sqrt(ops.maximum(squared, epsilon**2)) + epsilon)


def patch_nce_loss_per_example(queries, keys, temperature: float = NCE_TEMPERATURE):
    """PatchNCE loss per example (Park et al. 2020, https://arxiv.org/abs/2007.15651, eq. 2) -> ``(B,)``.

    Each query patch ``q_p`` of image ``b`` (a feature of the generated image) must pick its own key ``k_p``
    (the feature at the same place in the input image) among the ``P`` keys of the SAME image: the
    cross-entropy of ``[q_p·k_p, q_p·k_n for n ≠ p] / τ`` with the positive as the label, averaged over
    the ``P`` patches. Negatives never come from other images of the batch (the paper's choice for CUT and
    FastCUT), so the loss of an image does not depend on how a batch is split over replicas. As in the
    paper's code, the keys are constants (no gradient flows into them) and the ``q_p·k_p`` entry among the
    negatives is replaced by ``-10`` before dividing by ``τ`` (its weight ``exp(-10/τ)`` is nil).

    Args:
        queries: ``(B, P, D)`` projected, L2-normalised patch features of the generated images.
        keys: ``(B, P, D)`` the same patches of the input images.
        temperature: ``τ`` (0.07).

    Returns:
        ``(B,)`` float32: the mean over patches of the per-patch cross-entropy.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    q = ops.cast(ops.convert_to_tensor(queries), "float32")
    k = ops.stop_gradient(ops.cast(ops.convert_to_tensor(keys), "float32"))
    if len(q.shape) != 3 or tuple(q.shape) != tuple(k.shape):
        raise ValueError(
            f"queries and keys must both be (B, P, D); got {tuple(q.shape)} and {tuple(k.shape)}"
        )
    positive = ops.sum(q * k, axis=-1)  # (B, P)
    similarity = ops.einsum("bpd,bnd->bpn", q, k)  # (B, P, P)
    same = ops.eye(q.shape[1], dtype="bool")[None]  # (1, P, P): the positive pair again
    negatives = ops.where(same, -10.0, similarity)
    logits = ops.concatenate([positive[..., None], negatives], axis=-1) / temperature  # (B, P, 1 + P)
    cross_entropy = ops.logsumexp(logits, axis=-1) - positive / temperature  # (B, P)
    return ops.mean(cross_entropy, axis=-1)
