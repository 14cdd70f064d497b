"""The CycleGAN training configuration: one dataclass with the paper's defaults, filled alike by the CLI,
the notebook and the tests (Zhu et al. 2017, https://arxiv.org/abs/1703.10593, section 7.1).

Importing this module is cheap (no TensorFlow), so the command line can show its defaults."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

#: Generator designs (:mod:`stx_tf.cyclegan.generators`).
GENERATORS = ("resnet", "unet")

#: Normalisations a net can be built with. ``"instance"`` is CycleGAN's (Ulyanov et al. 2016,
#: https://arxiv.org/abs/1607.08022), implemented as ``GroupNormalization(groups=-1)``.
NORMS = ("instance", "batch", "none")

#: Fields that fix the shape of the saved weights: a checkpoint only resumes with equal values.
ARCHITECTURE = ("generator", "filters", "res_blocks", "unet_depth", "disc_filters", "norm")

_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$"
)


def check_norm(norm: str) -> str:
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    return norm


def parse_duration(text) -> float:
    """``"2h50m"``, ``"90m"``, ``"45s"``, ``"1h 5m 30s"`` or a number of seconds -> seconds.

    Raises:
        ValueError: anything else.
    """
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        raw = str(text).strip().lower()
        try:
            seconds = float(raw)
        except ValueError:
            match = _DURATION.match(raw)
            if not raw or not match or not any(match.groups()):
                raise ValueError(
                    f"time budget {text!r}: expected e.g. '2h50m', '90m', '45s' or seconds"
                ) from None
            h, m, s = (float(g) if g else 0.0 for g in match.groups())
            seconds = 3600 * h + 60 * m + s
    if seconds <= 0:
        raise ValueError(f"time budget {text!r} must be positive")
    return seconds


@dataclass
class CycleGANConfig:
    """How to build and train a CycleGAN. Defaults are the paper's (ResNet-9, λ = 10, pool 50, Adam
    2e-4 / β1 0.5, 100 epochs constant + 100 decaying, batch 1, 256 px, LSGAN).

    Attributes:
        generator: ``"resnet"`` or ``"unet"``.
        filters: generator width (64); small values (8) make smoke runs fast.
        res_blocks: ResNet blocks (9 at 256 px, 6 at 128 px in the paper).
        unet_depth: U-Net down-steps (default ``log2(image_size)``, at most 8).
        dropout: U-Net dropout of the deepest up-steps.
        disc_filters: PatchGAN width (64).
        norm: ``"instance"``, ``"batch"`` or ``"none"``.
        image_size: training side in pixels (the competition's images are 256).
        batch_size: PER-REPLICA batch (the global batch is this × replicas).
        epochs: total epochs; each covers every photo once.
        decay_epochs: the last ``decay_epochs`` epochs decay the learning rate linearly to 0.
        learning_rate, beta_1: Adam settings of all four optimisers.
        lambda_cycle: cycle-consistency weight λ.
        lambda_identity: identity weight relative to λ (0.5 → 5).
        adversarial_loss: ``"lsgan"`` or ``"bce"``.
        label_smoothing: one-sided smoothing of the real target (``"bce"`` and ``"lsgan"``).
        pool_size: image pool size (0 disables).
        diff_augment: DiffAugment policy on everything the discriminators see, e.g.
            ``"color,translation,cutout"`` (recommended with 300 paintings); ``None`` disables.
        jitter, flip: per-image training augmentation (resize +12 % and random crop; horizontal flip).
        steps_per_epoch: cap on steps per epoch (``None``: all photos, the normal case).
        steps_per_execution: train steps per ``tf.function`` call (fewer host round trips; TPU: 8-64).
        time_budget: stop training before this much wall time has passed, e.g. ``"2h50m"`` on a 3-hour
            Kaggle session (leaves time to export); ``None``: no limit.
        samples: fixed photos (and paintings) drawn in the per-epoch sample grid.
        keep_checkpoints: checkpoints kept (newest).
        precision: ``"float32"``, ``"mixed_bfloat16"`` (TPU) or ``"auto"`` (bf16 on TPU, else fp32).
        cache: keep decoded images in memory (only for small data sets: 7,000 photos are 5 GB).
        skip_corrupt: skip unreadable records/files with a warning and count instead of failing.
        seed: random seed (weights, shuffling).
    """

    generator: str = "resnet"
    filters: int = 64
    res_blocks: int = 9
    unet_depth: int | None = None
    dropout: float = 0.5
    disc_filters: int = 64
    norm: str = "instance"
    image_size: int = 256
    batch_size: int = 1
    epochs: int = 200
    decay_epochs: int = 100
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    adversarial_loss: str = "lsgan"
    label_smoothing: float = 0.0
    pool_size: int = 50
    diff_augment: str | None = None
    jitter: bool = True
    flip: bool = True
    steps_per_epoch: int | None = None
    steps_per_execution: int = 1
    time_budget: str | None = None
    samples: int = 4
    keep_checkpoints: int = 2
    precision: str = "float32"
    cache: bool = False
    skip_corrupt: bool = True
    seed: int = 0

    def __post_init__(self):
        self.validate()

    def validate(self) -> CycleGANConfig:
        """Check the values; raise ``ValueError`` naming the bad field."""
        if self.generator not in GENERATORS:
            raise ValueError(f"generator must be one of {GENERATORS}, got {self.generator!r}")
        check_norm(self.norm)
        for name in (
            "filters",
            "res_blocks",
            "disc_filters",
            "image_size",
            "batch_size",
            "epochs",
            "steps_per_execution",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {self.image_size}")
        if not 0 <= self.decay_epochs <= self.epochs:
            raise ValueError(f"decay_epochs must be in [0, epochs={self.epochs}], got {self.decay_epochs}")
        if self.time_budget is not None:
            parse_duration(self.time_budget)
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1 or None, got {self.steps_per_epoch}")
        return self

    @property
    def time_budget_seconds(self) -> float | None:
        return None if self.time_budget is None else parse_duration(self.time_budget)

    def architecture(self) -> dict:
        """The fields a checkpoint must agree on."""
        return {name: getattr(self, name) for name in ARCHITECTURE}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> CycleGANConfig:
        """Build from a dict, ignoring unknown keys (checkpoints written by other versions)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def updated(self, **changes) -> CycleGANConfig:
        """A copy with some fields changed (``None`` values are ignored, for CLI options)."""
        return self.from_dict({**self.to_dict(), **{k: v for k, v in changes.items() if v is not None}})


def build_generator_from(config: CycleGANConfig, name: str):
    """One generator as the config describes (used for training and to load one for export)."""
    from stx_tf.cyclegan.generators import build_generator

    return build_generator(
        config.generator,
        filters=config.filters,
        res_blocks=config.res_blocks,
        norm=config.norm,
        image_size=config.image_size,
        depth=config.unet_depth,
        dropout=config.dropout,
        name=name,
    )


def build_cyclegan(config: CycleGANConfig):
    """The (uncompiled) :class:`~stx_tf.cyclegan.model.CycleGAN` a config describes.

    Call it inside ``strategy.scope()``.
    """
    from stx_tf.cyclegan.discriminators import patchgan_discriminator
    from stx_tf.cyclegan.model import CycleGAN

    def disc(name):
        return patchgan_discriminator(filters=config.disc_filters, norm=config.norm, name=name)

    return CycleGAN(
        build_generator_from(config, "monet_generator"),
        build_generator_from(config, "photo_generator"),
        disc("monet_discriminator"),
        disc("photo_discriminator"),
        lambda_cycle=config.lambda_cycle,
        lambda_identity=config.lambda_identity,
        pool_size=config.pool_size,
        image_size=config.image_size,
    )
