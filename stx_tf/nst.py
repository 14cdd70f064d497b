"""Gatys neural style transfer: optimise the pixels of one image so that its deep features match a
photo's content and a painting's style.

Gatys, Ecker & Bethge, "A Neural Algorithm of Artistic Style" (https://arxiv.org/abs/1508.06576); colour
preservation from Gatys et al., "Preserving Color in Neural Artistic Style Transfer"
(https://arxiv.org/abs/1606.05897); coarse-to-fine from Gatys et al., "Controlling Perceptual Factors in
Neural Style Transfer" (https://arxiv.org/abs/1611.07865).

The loss (the paper's definitions, :mod:`stx_tf.losses`)::

    L(x) = β · (Σ_l w_l · E_l(x)  +  λ · Σ_c ½ Σ (F_c(x) - F_c(p))²)  +  tv · TV(x)

with ``E_l = 1/(4 N_l² M_l²) Σ (G_l(x) - A_l)²`` the style loss of layer ``l`` (Gram matrices of the
painting precomputed once), ``λ = content_weight`` (the paper's ratio α/β; its Figure 3 sweeps 1e-5 …
1e-2), ``β = style_weight`` and ``tv = tv_weight``.

Speed: each optimisation step is one compiled ``tf.function`` computing the loss the cheap way
(:meth:`StyleObjective.step_loss`: the Gram matrices' gradient written out as one matrix product, the
total variation with plain slices, and on CPUs with native bfloat16 the convolutions in bfloat16,
``precision="auto"``); the style Grams are computed once, and several style images are folded into one
weighted target Gram per layer. Reported losses are always the float32 loss of the (clipped) image.
Measured at 512 px with SqueezeNet on a 2-core AMX CPU (``python benchmarks/bench_nst.py``): a step
takes 0.47x the TensorFlow tutorial's step (0.63x in float32). With the tutorial's constant Adam rate
(0.02) the loss of its 1,000 steps takes 1,000 steps, with 0.04 ~820 (float32) to ~1,030 (bfloat16);
the :data:`FAST_SCHEDULE` (0.04, cosine decay over 800 steps, β1 0.95, β2 0.99) gets there after ~560
steps, in 0.27-0.30x the tutorial's wall time; its 800 steps end at 0.97x to 1.005x the tutorial's
final loss on each of five photo/painting pairs, in 0.38-0.43x its time. L-BFGS (one evaluation per
iteration) drops the loss fastest during the first ~100-300 iterations, then stalls (the
total-variation term is not smooth). Coarse-to-fine (``multiscale``) settles large-scale structure
cheaply at low resolution, but does not reach a full-resolution loss sooner: an upsampled
low-resolution result lacks the fine texture the early style layers measure.

Example::

    from stx_tf import nst
    result = nst.stylize("photo.jpg", "starry_night.jpg", backbone="squeezenet", weights="sq.h5")
    result.save("out.png")
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from keras import ops

from stx_tf import backbones, losses, settings

log = settings.get_logger("stx_tf.nst")

#: Per-backbone defaults (tuned by looking at results; see the notebook). ``None`` fields of
#: :class:`StylizeConfig` take these values.
BACKBONE_DEFAULTS = {
    "vgg19": {"content_weight": 1e-3, "tv_weight": 1.0, "style_layer_weights": None},
    "squeezenet": {"content_weight": 1e-3, "tv_weight": 1.0, "style_layer_weights": None},
}

INITS = ("content", "noise", "style")
MIN_SIZE = 32  # px: both backbones need this much for their deepest layers
OPTIMIZERS = ("adam", "lbfgs")
SCHEDULES = ("constant", "cosine")
PRECISIONS = ("auto", "float32", "bfloat16")

# RGB <-> YIQ (luminance Y, chrominance I, Q) for colour preservation.
_RGB2YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float32)
_YIQ2RGB = np.linalg.inv(_RGB2YIQ).astype(np.float32)


class LossDivergedError(ValueError):
    """The loss became NaN or infinite; ``image`` holds the last image with a finite loss."""

    def __init__(self, message: str, image: np.ndarray | None = None):
        super().__init__(message)
        self.image = image


@dataclass
class StylizeConfig:
    """Settings of :func:`stylize` (paper / TensorFlow-tutorial defaults).

    ``None`` means "the backbone's default" (:data:`BACKBONE_DEFAULTS`, layers from
    :func:`stx_tf.backbones.default_layers`).
    """

    backbone: str = "vgg19"  # "vgg19" (the paper's) or "squeezenet" (10x faster on CPU)
    weights: object = "imagenet"  # "imagenet", a local weights file, or None (random: tests only)
    style_layers: tuple[str, ...] | None = None
    content_layers: tuple[str, ...] | None = None
    style_layer_weights: tuple[float, ...] | None = None  # w_l; default 1/L each
    max_dim: int = 512  # longer side of the result; bigger inputs are downscaled
    style_scale: float = 1.0  # style image size relative to max_dim
    optimizer: str = "adam"  # "adam" or "lbfgs"
    learning_rate: float = 0.02  # Adam, TensorFlow tutorial (L-BFGS takes unit steps)
    beta_1: float = 0.99
    beta_2: float = 0.999
    epsilon: float = 0.1
    schedule: str = "constant"  # Adam learning rate: "constant" or "cosine" decay over each scale's steps
    final_lr_fraction: float = 0.1  # "cosine": the last step's rate, as a fraction of learning_rate
    lbfgs_memory: int = 5  # L-BFGS correction pairs (5 did better than 10 here)
    epochs: int = 10
    steps: int = 100  # optimisation steps per epoch (L-BFGS: iterations)
    content_weight: float | None = None  # λ = α/β
    style_weight: float = 1.0  # β: overall scale of the loss
    tv_weight: float | None = None  # total variation (sum of absolute differences)
    style_strength: float = 1.0  # 0 = the photo's own style, 1 = the painting's, >1 exaggerates
    preserve_color: bool = False  # luminance-only transfer, keeping the photo's colours
    init: str = "content"  # "content", "noise" or "style"
    multiscale: int = 1  # number of scales (1 = off; 2 = half size first, then full size)
    coarse_steps: int | None = None  # steps at each coarse scale (default: half of epochs * steps)
    steps_per_call: int = 20  # optimisation steps between progress updates
    jit_compile: bool = False  # XLA: helps on GPU, usually not on CPU
    precision: str = "auto"  # feature extractor during the steps: "auto", "float32" or "bfloat16"
    seed: int = 0

    def resolved(self) -> StylizeConfig:
        """A copy with every ``None`` replaced by the backbone's default, validated."""
        name = self.backbone.lower()
        if name not in backbones.BACKBONES:
            raise ValueError(
                f"unknown backbone {self.backbone!r}; choose one of {sorted(backbones.BACKBONES)}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if not (
            0.0 <= self.beta_1 < 1.0 and 0.0 <= self.beta_2 < 1.0 and 0.0 <= self.final_lr_fraction <= 1.0
        ):
            raise ValueError(
                f"beta_1 and beta_2 must be in [0, 1) and final_lr_fraction in [0, 1], got {self.beta_1}, "
                f"{self.beta_2}, {self.final_lr_fraction}"
            )
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")
        if self.epochs < 1 or self.steps < 1 or self.multiscale < 1:
            raise ValueError("epochs, steps and multiscale must be at least 1")
        if self.max_dim < 32:
            raise ValueError(f"max_dim must be at least 32 px, got {self.max_dim}")
        precision = resolve_precision(self.precision)
        style, content = backbones.default_layers(name)
        defaults = BACKBONE_DEFAULTS[name]
        out = dataclasses.replace(
            self,
            backbone=name,
            style_layers=tuple(self.style_layers or style),
            content_layers=tuple(self.content_layers or content),
            content_weight=defaults["content_weight"] if self.content_weight is None else self.content_weight,
            tv_weight=defaults["tv_weight"] if self.tv_weight is None else self.tv_weight,
            precision=precision,
        )
        layer_weights = self.style_layer_weights or defaults["style_layer_weights"]
        n = len(out.style_layers)
        layer_weights = tuple(layer_weights) if layer_weights else (1.0 / n,) * n
        if len(layer_weights) != n:
            raise ValueError(f"{len(layer_weights)} style layer weights for {n} style layers")
        return dataclasses.replace(out, style_layer_weights=layer_weights)


#: The fast Adam schedule (``recommended_config`` uses it locally): a lighter momentum (β1 0.95 instead of
#: the tutorial's 0.99) moves fast early, and a cosine decay of a higher rate to a tenth removes the
#: pixel jitter a constant rate leaves behind (at a constant 0.04-0.06 that jitter keeps the
#: total-variation term, half of the loss here, from falling). Tuned on five photo/painting pairs at
#: 512 px: a shorter schedule (600 steps, β1 0.9, 0.06) wins on the benchmark pair but ends 2-13% above
#: the tutorial's loss on three of the others; these 800 steps end within 0.5% of it (or below) on all five.
FAST_SCHEDULE = {
    "learning_rate": 0.04,
    "beta_1": 0.95,
    "beta_2": 0.99,
    "schedule": "cosine",
    "final_lr_fraction": 0.1,
    "epochs": 10,
    "steps": 80,
}


def recommended_config(smoke: bool | None = None, place: str | None = None, **overrides) -> StylizeConfig:
    """A :class:`StylizeConfig` for where we run.

    * smoke mode (``STX_SMOKE=1``): SqueezeNet with random weights, 64 px, 2 epochs of 3 steps.
    * Kaggle / Colab: VGG19 with downloaded ImageNet weights, 512 px, the TensorFlow tutorial's Adam
      (the fast schedule is measured with SqueezeNet only: VGG19's weights cannot be had where we measure).
    * elsewhere: SqueezeNet ("imagenet": ``STX_SQUEEZENET_WEIGHTS`` or a download), 384 px, the
      :data:`FAST_SCHEDULE`: 800 steps (10 epochs of 80) of Adam at 0.04 with cosine decay to 0.004,
      β1 0.95, β2 0.99. At 512 px (``benchmarks/bench_nst.py``) it reaches the loss of the tutorial's
      1,000 steps after about 560 steps, where the tutorial's constant 0.02 needs 1,000 and 0.04 needs
      ~820 (float32) to ~1,000 (bfloat16).

    Everywhere ``precision="auto"``: bfloat16 convolutions during the steps on CPUs with native bfloat16.
    """
    smoke = settings.smoke_mode() if smoke is None else smoke
    if smoke:
        base = {"backbone": "squeezenet", "weights": None, "max_dim": 64, "epochs": 2, "steps": 3}
    elif (
        place or ("kaggle" if settings.on_kaggle() else "colab" if settings.on_colab() else "local")
    ) != "local":
        base = {"backbone": "vgg19", "max_dim": 512}
    else:
        base = {"backbone": "squeezenet", "max_dim": 384, **FAST_SCHEDULE}
    return StylizeConfig(**{**base, **overrides})


@dataclass
class StylizeResult:
    """What :func:`stylize` returns."""

    image: np.ndarray  # float32 (H, W, 3) in [0, 1]
    history: list[float]  # loss before each optimisation step, all scales, as the steps compute it
    epoch_losses: list[float]  # float32 loss of the image after each epoch (full scale)
    frames: list[np.ndarray] = field(repr=False)  # uint8 image after each epoch
    seconds: float
    steps: int
    stopped_early: bool = False
    config: StylizeConfig | None = field(default=None, repr=False)

    @property
    def final_loss(self) -> float:
        return self.epoch_losses[-1] if self.epoch_losses else float("nan")

    def save(self, path) -> Path:
        """Save the image (PNG/JPEG by suffix), atomically."""
        from stx_tf.data.images import save_image

        return save_image(self.image, path)


# ----------------------------------------------------------------------------------------- callbacks
class Callback:
    """Hooks called by :func:`stylize`; ``on_epoch_end`` returning True stops the run."""

    def on_epoch_end(self, epoch: int, image: np.ndarray, loss: float) -> bool | None:
        return None

    def on_end(self, result: StylizeResult) -> None:
        return None


class _FunctionCallback(Callback):
    def __init__(self, fn: Callable):
        self.fn = fn

    def on_epoch_end(self, epoch, image, loss):
        return self.fn(epoch, image, loss)


class FrameSaver(Callback):
    """Save each epoch's image as ``folder/epoch_001.png`` … and/or an animated GIF at the end.

    Args:
        folder: where the PNG frames go (``None``: no frames on disk).
        gif: path of the animated GIF (``None``: no GIF); written via :func:`stx_tf.viz.save_gif`.
        duration_ms: GIF frame duration.
    """

    def __init__(self, folder=None, gif=None, duration_ms: int = 300):
        self.folder = Path(folder) if folder else None
        self.gif = Path(gif) if gif else None
        self.duration_ms = duration_ms
        self.paths: list[Path] = []

    def on_epoch_end(self, epoch, image, loss):
        if self.folder is not None:
            from stx_tf.data.images import save_image

            self.paths.append(save_image(image, self.folder / f"epoch_{epoch:03d}.png"))

    def on_end(self, result):
        if self.gif is not None and result.frames:
            from stx_tf.viz import save_gif

            save_gif(result.frames, self.gif, duration_ms=self.duration_ms)
            log.info("GIF of %d frames written to %s", len(result.frames), self.gif)


class StopAtLoss(Callback):
    """Stop as soon as an epoch ends with a loss at or below ``target`` (benchmarks, budgets)."""

    def __init__(self, target: float):
        self.target = float(target)
        self.reached_after: float | None = None
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, image, loss):
        if loss <= self.target:
            self.reached_after = time.perf_counter() - self._start
            return True
        return None


# ------------------------------------------------------------------------------------------- images
def rgb_to_yiq(image: np.ndarray) -> np.ndarray:
    """``(..., 3)`` RGB in [0, 1] -> YIQ."""
    return np.asarray(image, np.float32) @ _RGB2YIQ.T


def yiq_to_rgb(image: np.ndarray) -> np.ndarray:
    """YIQ -> RGB, clipped to [0, 1]."""
    return np.clip(np.asarray(image, np.float32) @ _YIQ2RGB.T, 0.0, 1.0)


def match_luminance(style_y: np.ndarray, content_y: np.ndarray) -> np.ndarray:
    """Shift and scale the style luminance to the content's mean and deviation (Gatys et al. 2016)."""
    std = float(style_y.std()) or 1.0
    return np.clip((style_y - style_y.mean()) * (content_y.std() / std) + content_y.mean(), 0.0, 1.0)


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a float ``(H, W, C)`` image (antialiased bilinear)."""
    if image.shape[:2] == (height, width):
        return image
    out = ops.image.resize(image[None], (height, width), interpolation="bilinear", antialias=True)
    return np.clip(ops.convert_to_numpy(out)[0], 0.0, 1.0)


def _load(source, max_dim: int, label: str) -> np.ndarray:
    """:func:`stx_tf.data.load_image` plus a check that downscaling left at least 32 px."""
    from stx_tf.data.images import load_image

    name = label if isinstance(source, np.ndarray) else None
    image = load_image(source, max_dim=max_dim, min_dim=MIN_SIZE, name=name)
    if min(image.shape[:2]) < MIN_SIZE:
        raise ValueError(
            f"{name or source}: {image.shape[1]}x{image.shape[0]} after downscaling to max_dim={max_dim} is "
            f"thinner than {MIN_SIZE} px; crop it or raise max_dim"
        )
    return image


def _load_styles(style, max_dim: int) -> list[np.ndarray]:
    if isinstance(style, str | Path | bytes | bytearray | np.ndarray):
        style = [style]
    if not style:
        raise ValueError("no style image given")
    return [_load(s, max_dim, f"style[{i}]") for i, s in enumerate(style)]


# ------------------------------------------------------------------------------------------- model
_EXTRACTORS: dict = {}


def _extractor(cfg: StylizeConfig, precision: str = "float32") -> keras.Model:
    """The (cached) frozen feature model for ``cfg``'s backbone, layers and weights.

    ``precision="bfloat16"``: a copy of the float32 model whose layers compute in bfloat16
    (``mixed_bfloat16``: float32 weights, bfloat16 activations); the preprocessing stays float32.
    """
    layer_names = tuple(dict.fromkeys(cfg.style_layers + cfg.content_layers))
    weights = cfg.weights
    key = (cfg.backbone, layer_names, None if weights is None else str(weights))
    if key not in _EXTRACTORS:
        _EXTRACTORS[key] = backbones.feature_extractor(cfg.backbone, list(layer_names), weights=weights)
    if precision == "float32":
        return _EXTRACTORS[key]
    if precision != "bfloat16":
        raise ValueError(f"precision must be 'float32' or 'bfloat16', got {precision!r}")
    if key + (precision,) not in _EXTRACTORS:
        _EXTRACTORS[key + (precision,)] = _bfloat16_copy(_EXTRACTORS[key])
    return _EXTRACTORS[key + (precision,)]


def _bfloat16_copy(model: keras.Model) -> keras.Model:
    """A frozen copy of ``model`` computing in bfloat16 (inputs and preprocessing stay float32)."""

    def clone(layer):
        config = layer.get_config()
        if "dtype" in config and not isinstance(layer, keras.layers.InputLayer | backbones.CaffePreprocess):
            config["dtype"] = "mixed_bfloat16"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    copy.trainable = False
    return copy


def resolve_precision(precision: str = "auto") -> str:
    """The precision of the feature extractor during the optimisation.

    ``"auto"``: ``"bfloat16"`` on TPUs and on CPU-only machines whose CPU has native bfloat16 maths (AMX or
    AVX-512 BF16, see :func:`stx_tf.strategy.native_bfloat16`), ``"float32"`` elsewhere (GPUs included).
    ``"float32"`` and ``"bfloat16"`` are returned as they are.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    from stx_tf.strategy import native_bfloat16

    return "bfloat16" if native_bfloat16() else "float32"


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
            ``_extractor(cfg, "bfloat16")``; default ``extractor``.
    """

    def __init__(
        self, extractor, content, styles, cfg: StylizeConfig, style_image_weights=None, step_extractor=None
    ):
        self.extractor = extractor
        self.step_extractor = step_extractor or extractor
        self.cfg = cfg
        if style_image_weights is None:
            style_image_weights = [1.0] * len(styles)
        style_image_weights = np.asarray(style_image_weights, np.float64)
        if (
            len(style_image_weights) != len(styles)
            or style_image_weights.sum() <= 0
            or (style_image_weights < 0).any()
        ):
            raise ValueError(
                f"style_weights must be {len(styles)} non-negative numbers with a positive sum, "
                f"got {list(style_image_weights)}"
            )
        style_image_weights = style_image_weights / style_image_weights.sum()
        # Reflect-pad bottom/right so every pixel reaches the deepest layers (no unpainted edge stripe).
        self.padding = tuple(backbones.cover_padding(cfg.backbone, n) for n in content.shape[:2])
        content_feats = extractor(self._cover(content[None]))
        self.content_targets = {k: content_feats[k] for k in cfg.content_layers}
        # Σ_s w_s ||G - A_s||² = ||G - Σ_s w_s A_s||² + const: one blended target Gram per layer.
        grams = {k: 0.0 for k in cfg.style_layers}
        for weight, style in zip(style_image_weights, styles):
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


# ---------------------------------------------------------------------------------------- optimisers
def _compiled_loop(step: Callable, jit_compile: bool = False):
    """``run(n) -> losses (n,)``: ``n`` calls of the compiled ``step() -> loss``.

    The step is one ``tf.function`` (traced once) called from a Python loop; the losses stay tensors until
    the ``n`` steps are done. Measured on CPU (TF 2.21, oneDNN), this is as fast as or faster than a
    ``tf.while_loop`` of the steps inside one graph (in float32 the while loop was ~1.6x slower per step):
    the per-call overhead is well under a millisecond, a step tens of milliseconds.
    """
    import tensorflow as tf

    compiled = tf.function(step, jit_compile=jit_compile)

    def run(n):
        return tf.stack([compiled() for _ in range(int(n))])

    return run


def _loss_and_gradient_of(objective, variable):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = objective.step_loss(variable.value)
    return loss, tape.gradient(loss, variable.value)


def adam_runner(objective: StyleObjective, variable, cfg: StylizeConfig, total_steps: int | None = None):
    """A compiled ``run(n) -> losses (n,)`` doing ``n`` Adam steps on ``variable`` in one graph call.

    Each step: loss and gradient, Adam update (``learning_rate``, ``beta_1``, ``beta_2``, ``epsilon``; the
    TensorFlow tutorial's 0.02, 0.99, 0.999, 0.1), clip to [0, 1]. With ``schedule="cosine"`` the rate
    decays over ``total_steps`` to ``final_lr_fraction`` of ``learning_rate`` (and stays there). The
    returned losses are those before each update.
    """
    learning_rate = cfg.learning_rate
    if cfg.schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            cfg.learning_rate,
            decay_steps=max(1, int(total_steps or cfg.epochs * cfg.steps)),
            alpha=cfg.final_lr_fraction,
        )
    optimizer = keras.optimizers.Adam(
        learning_rate=learning_rate, beta_1=cfg.beta_1, beta_2=cfg.beta_2, epsilon=cfg.epsilon
    )
    optimizer.build([variable])

    def step():
        loss, grad = _loss_and_gradient_of(objective, variable)
        optimizer.apply([grad], [variable])
        variable.assign(ops.clip(variable.value, 0.0, 1.0))
        return loss

    run = _compiled_loop(step, cfg.jit_compile)
    run.optimizer = optimizer  # its learning_rate is the scheduled rate of the next step
    return run


def lbfgs_runner(objective: StyleObjective, variable, cfg: StylizeConfig, total_steps: int | None = None):
    """A compiled ``run(n) -> losses (n,)`` doing ``n`` L-BFGS iterations on ``variable`` in one call.

    Limited-memory BFGS (Nocedal 1980; ``cfg.lbfgs_memory`` correction pairs, two-loop recursion) with a
    unit step like ``torch.optim.LBFGS`` (the first step scaled by ``min(1, 1/‖g‖₁)``), projected onto
    [0, 1]. One loss-and-gradient evaluation per iteration, so an iteration costs about one Adam step; pairs
    with non-positive curvature ``yᵀs`` are skipped. The memory lives in variables, so consecutive calls
    continue the same run. ``total_steps`` is unused (the signature of :func:`adam_runner`).
    """
    import tensorflow as tf

    m = int(cfg.lbfgs_memory)
    size = int(np.prod(variable.shape))
    s_mem = tf.Variable(tf.zeros((m, size)), trainable=False)  # (m, N) past steps, oldest first
    y_mem = tf.Variable(tf.zeros((m, size)), trainable=False)  # (m, N) past gradient changes
    rho = tf.Variable(tf.zeros((m,)), trainable=False)  # 1 / yᵀs
    stored = tf.Variable(0, trainable=False)  # pairs held (<= m), the newest in the last rows
    x_prev = tf.Variable(tf.zeros((size,)), trainable=False)
    g_prev = tf.Variable(tf.zeros((size,)), trainable=False)
    started = tf.Variable(False, trainable=False)

    def remember(x, g):
        s, y = x - x_prev, g - g_prev
        ys = tf.reduce_sum(y * s)

        def push():
            s_mem.assign(tf.concat([s_mem[1:], s[None]], 0))
            y_mem.assign(tf.concat([y_mem[1:], y[None]], 0))
            rho.assign(tf.concat([rho[1:], [1.0 / ys]], 0))
            stored.assign(tf.minimum(stored + 1, m))
            return tf.constant(True)

        return tf.cond(tf.logical_and(started, ys > 1e-10), push, lambda: tf.constant(False))

    @tf.function(jit_compile=True)  # XLA fuses the 4m vector passes (op by op is several times slower)
    def two_loop(g, s_all, y_all, rho_all, stored):
        s_rows, y_rows = tf.unstack(s_all), tf.unstack(y_all)
        q, alphas = g, {}
        for j in range(m - 1, -1, -1):  # newest to oldest
            alphas[j] = tf.where(m - j <= stored, rho_all[j] * tf.reduce_sum(s_rows[j] * q), 0.0)
            q = q - alphas[j] * y_rows[j]
        first_scale = tf.minimum(1.0, 1.0 / (tf.reduce_sum(tf.abs(g)) + 1e-30))
        newest_sy = tf.reduce_sum(s_rows[-1] * y_rows[-1]) / (tf.reduce_sum(y_rows[-1] * y_rows[-1]) + 1e-30)
        r = tf.where(stored > 0, newest_sy, first_scale) * q
        for j in range(m):  # oldest to newest
            beta = rho_all[j] * tf.reduce_sum(y_rows[j] * r)
            r = r + tf.where(m - j <= stored, alphas[j] - beta, 0.0) * s_rows[j]
        return -r

    def direction(g):
        return two_loop(g, s_mem.value(), y_mem.value(), rho.value(), stored.value())

    def step():
        loss, grad = _loss_and_gradient_of(objective, variable)
        x, g = tf.reshape(variable.value, (-1,)), tf.reshape(grad, (-1,))
        with tf.control_dependencies([remember(x, g)]):
            d = direction(g)
        x_prev.assign(x)
        g_prev.assign(g)
        started.assign(True)
        variable.assign(tf.reshape(tf.clip_by_value(x + d, 0.0, 1.0), variable.shape))
        return loss

    return _compiled_loop(step, cfg.jit_compile)


RUNNERS = {"adam": adam_runner, "lbfgs": lbfgs_runner}


def loss_and_gradient(objective: StyleObjective, jit_compile: bool = False):
    """A compiled ``f(image) -> (loss, gradient)`` (for external optimisers and the benchmark)."""
    import tensorflow as tf

    @tf.function(jit_compile=jit_compile)
    def value_and_grad(image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = objective(image)
        return loss, tape.gradient(loss, image)

    return value_and_grad


# ------------------------------------------------------------------------------------------ stylize
def _scaled(image: np.ndarray, factor: float) -> np.ndarray:
    """``image`` resized by ``factor``, but never below the networks' 32 px minimum."""
    factor = max(factor, MIN_SIZE / min(image.shape[:2]))
    return resize(image, round(image.shape[0] * factor), round(image.shape[1] * factor))


class _Level:
    """One scale of the optimisation: prepared inputs and the objective."""

    def __init__(self, cfg, content, styles, style_image_weights, factor):
        self.content = _scaled(content, factor)
        styles = [_scaled(s, factor) for s in styles]
        self.color = None
        if cfg.preserve_color:
            yiq = rgb_to_yiq(self.content)
            self.color = yiq[..., 1:]
            luminance = yiq[..., :1]
            styles = [match_luminance(rgb_to_yiq(s)[..., :1], luminance) for s in styles]
            styles = [np.repeat(s, 3, axis=-1) for s in styles]
            net_content = np.repeat(luminance, 3, axis=-1)
        else:
            net_content = self.content
        self.objective = StyleObjective(
            _extractor(cfg),
            net_content,
            styles,
            cfg,
            style_image_weights,
            step_extractor=_extractor(cfg, cfg.precision),
        )
        self.styles = styles

    def to_variable_space(self, rgb: np.ndarray) -> np.ndarray:
        """An RGB image at this scale -> the optimised array (RGB, or luminance with preserve_color)."""
        rgb = resize(rgb, *self.content.shape[:2])
        return rgb_to_yiq(rgb)[..., :1] if self.color is not None else rgb

    def to_rgb(self, x: np.ndarray) -> np.ndarray:
        if self.color is None:
            return np.clip(x, 0.0, 1.0)
        return yiq_to_rgb(np.concatenate([np.clip(x, 0.0, 1.0), self.color], axis=-1))


def _initial_image(cfg, content, styles, rng) -> np.ndarray:
    if cfg.init == "content":
        return content.copy()
    if cfg.init == "style":
        return resize(styles[0], *content.shape[:2])
    return rng.uniform(0.0, 1.0, size=content.shape).astype(np.float32)


def stylize(
    content,
    style,
    config: StylizeConfig | None = None,
    *,
    style_weights: Sequence[float] | None = None,
    callbacks: Sequence[Callback | Callable] = (),
    verbose: int = 1,
    **overrides,
) -> StylizeResult:
    """Paint ``content`` in the style of ``style`` (Gatys et al.).

    Args:
        content: the photo: a path, bytes, or an array (uint8, or float in [0, 1]; grey and RGBA are
            converted to RGB). Images larger than ``max_dim`` are downscaled (with a message).
        style: one style image or a list of them (same kinds as ``content``).
        config: a :class:`StylizeConfig`; keyword ``overrides`` replace its fields
            (e.g. ``stylize(c, s, backbone="squeezenet", steps=50)``).
        style_weights: relative weights of several style images (default equal).
        callbacks: :class:`Callback` objects or functions ``f(epoch, image, loss)`` called after each epoch;
            returning True stops. :class:`FrameSaver` writes frames and a GIF.
        verbose: 1 shows a progress bar, 0 is silent.

    Returns:
        A :class:`StylizeResult` (``image``, ``history`` of losses, ``frames`` per epoch, timings).

    Raises:
        ValueError: unreadable image, image under 32 px, bad configuration.
        LossDivergedError: the loss became NaN/inf (a ``ValueError``; ``err.image`` is the last good image).
    """

    cfg = dataclasses.replace(config or StylizeConfig(), **overrides).resolved()
    callbacks = [cb if isinstance(cb, Callback) else _FunctionCallback(cb) for cb in callbacks]
    content_img = _load(content, cfg.max_dim, "content")
    styles = _load_styles(style, max(MIN_SIZE, round(cfg.max_dim * cfg.style_scale)))
    rng = np.random.default_rng(cfg.seed)
    start = time.perf_counter()

    total = cfg.epochs * cfg.steps
    coarse = max(1, cfg.coarse_steps if cfg.coarse_steps is not None else total // 2)
    factors = [0.5**k for k in range(cfg.multiscale - 1, -1, -1)]
    factors = [f for f in factors if min(content_img.shape[:2]) * f >= MIN_SIZE] or [1.0]
    if len(factors) < cfg.multiscale:
        log.info("multiscale: using %d scale(s); smaller ones would be under 32 px", len(factors))
    progress = _Progress(coarse * (len(factors) - 1) + total, verbose)
    current = _initial_image(cfg, content_img, styles, rng)
    epoch_losses: list[float] = []
    frames: list[np.ndarray] = []
    stopped = False
    for factor in factors:
        level = _Level(cfg, content_img, styles, style_weights, factor)
        final = factor == factors[-1]
        schedule = [cfg.steps] * cfg.epochs if final else [coarse]
        x, stopped = _optimise(
            level,
            level.to_variable_space(current),
            schedule,
            cfg,
            progress,
            callbacks,
            final,
            epoch_losses,
            frames,
        )
        current = level.to_rgb(x)
    result = StylizeResult(
        image=current,
        history=progress.history,
        epoch_losses=epoch_losses,
        frames=frames,
        seconds=time.perf_counter() - start,
        steps=len(progress.history),
        stopped_early=stopped,
        config=cfg,
    )
    for cb in callbacks:
        cb.on_end(result)
    return result


def _check_finite(values, step0: int, cfg: StylizeConfig, last_good: np.ndarray) -> None:
    values = np.asarray(values, np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise LossDivergedError(
            f"the loss became {values[bad[0]]} at step {step0 + int(bad[0]) + 1}; stopped. Lower the learning "
            f"rate (now {cfg.learning_rate}) or the style/content/tv weights (now {cfg.style_weight}, "
            f"{cfg.content_weight}, {cfg.tv_weight}); the last finite image is in the error's .image",
            image=last_good,
        )


class _Progress:
    """Loss history plus a Keras progress bar over all steps of all scales."""

    def __init__(self, total: int, verbose: int):
        self.history: list[float] = []
        self.bar = keras.utils.Progbar(total, verbose=verbose, stateful_metrics=["loss"])

    def add(self, values) -> None:
        self.history.extend(values)
        if values:
            self.bar.update(len(self.history), values=[("loss", values[-1])])


def _optimise(
    level: _Level, x, epochs, cfg, progress: _Progress, callbacks, final: bool, epoch_losses, frames
):
    """Run ``len(epochs)`` epochs of ``epochs[i]`` steps at one scale; returns ``(x, stopped)``.

    At the final scale each epoch's loss and frame are recorded and the callbacks run.
    """
    import tensorflow as tf

    objective = level.objective
    variable = keras.Variable(x[None], dtype="float32", trainable=True, name="stylized")
    run = RUNNERS[cfg.optimizer](objective, variable, cfg, total_steps=sum(epochs))
    evaluate = tf.function(objective.__call__)  # the float32 loss after each epoch, compiled once
    for epoch, steps in enumerate(epochs, start=1):
        last_good = level.to_rgb(x)
        done = 0
        while done < steps:
            n = min(cfg.steps_per_call, steps - done)
            chunk = ops.convert_to_numpy(run(ops.convert_to_tensor(n, "int32"))).tolist()
            _check_finite(chunk, len(progress.history), cfg, last_good)
            progress.add(chunk)
            done += n
        x = ops.convert_to_numpy(variable.value)[0]
        if not final:
            continue
        loss = float(evaluate(ops.convert_to_tensor(x[None])))
        _check_finite([loss], len(progress.history), cfg, last_good)
        rgb = level.to_rgb(x)
        epoch_losses.append(loss)
        frames.append((rgb * 255.0 + 0.5).astype(np.uint8))
        if any([cb.on_epoch_end(epoch, rgb, loss) for cb in callbacks]):
            return x, True
    return x, False


# ------------------------------------------------------------------------------------------ figures
def content_weight_sweep(
    content,
    style,
    content_weights: Sequence[float] = (1e-5, 1e-4, 1e-3, 1e-2),
    config: StylizeConfig | None = None,
    path=None,
    show: bool = False,
    verbose: int = 0,
    **overrides,
) -> list[np.ndarray]:
    """The paper's Figure 3: the same transfer with content weights ``λ`` side by side.

    Small ``λ`` gives mostly texture of the painting; large ``λ`` keeps the photo. Every run starts from
    the same initial image. Saves a PNG grid to ``path`` (via :func:`stx_tf.viz.image_grid`) when given.

    Returns:
        The stylised images (float32 ``(H, W, 3)`` in [0, 1]), one per weight.
    """
    from stx_tf import viz

    images = [
        stylize(content, style, config, content_weight=w, verbose=verbose, **overrides).image
        for w in content_weights
    ]
    titles = [f"λ = {w:.0e}" for w in content_weights]
    viz.image_grid(
        images, ncols=len(images), titles=titles, path=path, show=show, suptitle="content weight λ"
    )
    return images


def epochs_sweep(
    content,
    style,
    epoch_counts: Sequence[int] = (10, 20, 30, 40, 50),
    config: StylizeConfig | None = None,
    path=None,
    show: bool = False,
    verbose: int = 0,
    **overrides,
) -> list[np.ndarray]:
    """The effect of longer optimisation: the image after each of ``epoch_counts`` epochs.

    Runs ``max(epoch_counts)`` epochs once (keeping every epoch's frame) and picks the frames; saves a PNG grid to ``path`` when given.

    Returns:
        The images after those epochs (uint8 ``(H, W, 3)``).
    """
    from stx_tf import viz

    wanted = sorted(set(int(e) for e in epoch_counts))
    if not wanted or wanted[0] < 1:
        raise ValueError(f"epoch_counts must be positive integers, got {list(epoch_counts)}")
    result = stylize(content, style, config, verbose=verbose, **{**overrides, "epochs": wanted[-1]})
    images = [result.frames[e - 1] for e in wanted]
    titles = [f"{e} epochs" for e in wanted]
    viz.image_grid(images, ncols=len(images), titles=titles, path=path, show=show, suptitle="epochs")
    return images


# ----------------------------------------------------------------------------------------- examples
def demo_images(content=None, style=None, data=None, max_dim: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """A content photo and a style painting for demos and notebooks, available everywhere.

    ``content`` / ``style`` given (path, bytes, array) are loaded as they are. Otherwise the first photo and
    the first Monet of the competition data are used (:func:`stx_tf.data.find_competition_data`: the
    Kaggle input, ``STX_DATA_DIR``, or the embedded synthetic sample as a last resort).

    Returns:
        ``(content, style)`` float32 ``(H, W, 3)`` images in [0, 1].
    """

    if content is not None and style is not None:
        return _load(content, max_dim, "content"), _load(style, max_dim, "style")
    from stx_tf.data import find_competition_data, load_images, to_unit

    data = data or find_competition_data()

    def first(source) -> np.ndarray:
        for image in load_images(source, size=max_dim).take(1):
            return np.clip(ops.convert_to_numpy(to_unit(image)), 0.0, 1.0).astype(np.float32)
        raise ValueError(f"{source}: no images")

    content_img = _load(content, max_dim, "content") if content is not None else first(data.photo)
    style_img = _load(style, max_dim, "style") if style is not None else first(data.monet)
    return content_img, style_img
