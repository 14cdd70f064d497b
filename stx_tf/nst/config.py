"""Settings of Gatys style transfer: :class:`StylizeConfig`, the per-backbone defaults, the fast schedule
and :func:`recommended_config` (what to run where)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from stx_tf import backbones, precision, settings

#: Per-backbone defaults (tuned by looking at results; see the notebook). ``None`` fields of
#: :class:`StylizeConfig` take these values.
BACKBONE_DEFAULTS = {
    "vgg19": {"content_weight": 1e-3, "tv_weight": 1.0, "style_layer_weights": None},
    "squeezenet": {"content_weight": 1e-3, "tv_weight": 1.0, "style_layer_weights": None},
}

INITS = ("content", "noise", "style", "instant")
MIN_SIZE = 32  # px: both backbones need this much for their deepest layers
OPTIMIZERS = ("adam", "lbfgs")
SCHEDULES = ("constant", "cosine")
#: Policies the feature extractor may compute in during the steps (after :func:`stx_tf.precision.normalise`).
STEP_POLICIES = ("float32", "mixed_bfloat16")


@dataclass
class StylizeConfig:
    """Settings of :func:`stx_tf.nst.stylize` (paper / TensorFlow-tutorial defaults).

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
    steps_per_epoch: int = 100  # optimisation steps per epoch (L-BFGS: iterations)
    content_weight: float | None = None  # λ = α/β
    style_weight: float = 1.0  # β: overall scale of the loss
    tv_weight: float | None = None  # total variation (sum of absolute differences)
    style_strength: float = 1.0  # 0 = the photo's own style, 1 = the painting's, >1 exaggerates
    preserve_color: bool = False  # luminance-only transfer, keeping the photo's colours
    init: str = "content"  # "content", "noise", "style" or "instant" (stx_tf.arbitrary's painting)
    instant_model: object = None  # init="instant": the arbitrary-style model (default: found as usual)
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
        if self.epochs < 1 or self.steps_per_epoch < 1 or self.multiscale < 1:
            raise ValueError("epochs, steps_per_epoch and multiscale must be at least 1")
        if self.max_dim < 32:
            raise ValueError(f"max_dim must be at least 32 px, got {self.max_dim}")
        style, content = backbones.default_layers(name)
        defaults = BACKBONE_DEFAULTS[name]
        out = dataclasses.replace(
            self,
            backbone=name,
            style_layers=tuple(self.style_layers or style),
            content_layers=tuple(self.content_layers or content),
            content_weight=defaults["content_weight"] if self.content_weight is None else self.content_weight,
            tv_weight=defaults["tv_weight"] if self.tv_weight is None else self.tv_weight,
            precision=step_policy(self.precision),
        )
        layer_weights = self.style_layer_weights or defaults["style_layer_weights"]
        n = len(out.style_layers)
        layer_weights = tuple(layer_weights) if layer_weights else (1.0 / n,) * n
        if len(layer_weights) != n:
            raise ValueError(f"{len(layer_weights)} style layer weights for {n} style layers")
        return dataclasses.replace(out, style_layer_weights=layer_weights)


def step_policy(value: str = "auto") -> str:
    """The Keras policy of the feature extractor during the optimisation steps.

    :func:`stx_tf.precision.resolve`, except that Gatys never computes in float16 (its Gram matrices
    overflow it): ``"auto"`` is ``"mixed_bfloat16"`` on TPUs and CPUs with native bfloat16 and
    ``"float32"`` elsewhere (GPUs included); ``"float16"`` is refused.
    """
    name = precision.normalise(value)
    policy = precision.resolve(name)
    if name == "auto" and policy not in STEP_POLICIES:
        return "float32"
    if policy not in STEP_POLICIES:
        raise ValueError(f"precision must be 'auto', 'float32' or 'bfloat16' for Gatys, got {value!r}")
    return policy


#: The fast Adam schedule (``recommended_config`` uses it locally): a lighter momentum (β1 0.95 instead of
#: the tutorial's 0.99) moves fast early, and a cosine decay of a higher rate to a tenth removes the
#: pixel jitter a constant rate leaves behind (at a constant 0.04-0.06 that jitter keeps the
#: total-variation term from falling). Tuned on five photo/painting pairs at 512 px; the measured
#: figures are in ``benchmarks/README.md``.
FAST_SCHEDULE = {
    "learning_rate": 0.04,
    "beta_1": 0.95,
    "beta_2": 0.99,
    "schedule": "cosine",
    "final_lr_fraction": 0.1,
    "epochs": 10,
    "steps_per_epoch": 80,
}


def recommended_config(smoke: bool | None = None, place: str | None = None, **overrides) -> StylizeConfig:
    """A :class:`StylizeConfig` for where we run.

    * smoke mode (``STX_SMOKE=1``): SqueezeNet with random weights, 64 px, 2 epochs of 3 steps.
    * Kaggle / Colab: VGG19 with downloaded ImageNet weights, 512 px, the TensorFlow tutorial's Adam
      (the fast schedule is measured with SqueezeNet only: VGG19's weights cannot be had where we measure).
    * elsewhere: SqueezeNet ("imagenet": ``STX_SQUEEZENET_WEIGHTS`` or a download), 384 px, the
      :data:`FAST_SCHEDULE`: 800 steps (10 epochs of 80) of Adam at 0.04 with cosine decay to 0.004,
      β1 0.95, β2 0.99.

    Everywhere ``precision="auto"``: bfloat16 convolutions during the steps on CPUs with native bfloat16.
    """
    smoke = settings.smoke_mode() if smoke is None else smoke
    if smoke:
        base = {"backbone": "squeezenet", "weights": None, "max_dim": 64, "epochs": 2, "steps_per_epoch": 3}
    elif (
        place or ("kaggle" if settings.on_kaggle() else "colab" if settings.on_colab() else "local")
    ) != "local":
        base = {"backbone": "vgg19", "max_dim": 512}
    else:
        base = {"backbone": "squeezenet", "max_dim": 384, **FAST_SCHEDULE}
    return StylizeConfig(**{**base, **overrides})
