"""The fast-style training configuration: one dataclass, filled alike by the CLI, the notebooks and the tests.

Defaults follow Johnson et al. 2016 (https://arxiv.org/abs/1603.08155: 256 px crops, batch 4, Adam 1e-3,
5 residual blocks, widths 32/64/128) except the loss weights, which are set for this package's loss
normalisations (:mod:`stx_tf.losses`: mean-squared content, ``hw``-normalised Grams, mean-absolute TV).
Importing this module is cheap (no TensorFlow).
"""

from __future__ import annotations

from dataclasses import dataclass

from stx_tf import settings
from stx_tf.configs import RESUME_POLICIES, Config, option, parse_duration
from stx_tf.precision import ALIASES, PRECISIONS

#: Channel widths of the paper's transform net (stem, first and second downsampling / residual trunk).
PAPER_FILTERS = (32, 64, 128)

#: Loss networks (:mod:`stx_tf.backbones`).
BACKBONES = ("vgg19", "squeezenet")


@dataclass
class FastStyleConfig(Config):
    """Everything one fast-style training run needs."""

    ARCHITECTURE = ("filters", "residual_blocks", "adversarial_weight", "d_filters")
    AT_LEAST_ONE = ("batch_size", "epochs", "samples", "steps_per_execution", "steps_per_epoch",
                    "residual_blocks", "keep_checkpoints")

    style: str = option("", help="the painting (an image file)")
    photos: str = option("", help="photos: a folder, .tfrec folder, glob, zip or list of images")
    name: str | None = option(None, help="preset name (default: the painting's file stem)")
    backbone: str = option("vgg19", choices=BACKBONES, help="loss network: vgg19 (paper) or squeezenet (fast)")
    weights: str | None = option("imagenet", help="backbone weights: imagenet, a weights file, or none (random)")
    style_layers: tuple | None = option(None, cli=False, help="style layers (default: the backbone's)")
    content_layers: tuple | None = option(None, cli=False, help="content layers (default: the backbone's)")
    style_layer_weights: tuple | None = option(None, cli=False, help="weights of the style layers")
    image_size: int = option(256, help="training crop side in pixels (paper: 256)")
    style_size: int = option(512, help="longer side of the painting when its Grams are computed")
    filters: tuple[int, int, int] = option(PAPER_FILTERS, help="transform net widths: 32 64 128 (paper), 16 32 64 (fast)")
    residual_blocks: int = option(5, help="residual blocks of the transform net")
    batch_size: int = option(4, help="PER-REPLICA batch (paper: 4)")
    epochs: int = option(2, help="epochs (paper: 2 epochs of COCO)")
    steps_per_epoch: int | None = option(None, help="steps per epoch (default: photos // global batch)")
    learning_rate: float = option(1e-3, help="Adam learning rate (paper)")
    content_weight: float = option(1.0, help="content loss weight")
    style_weight: float = option(3.0, help="style loss weight")
    tv_weight: float = option(1.0, help="total-variation weight")
    adversarial_weight: float = option(0.0, help="beta of a painting discriminator (0: off; needs paintings)")
    paintings: str | None = option(None, help="paintings of the painter for the discriminator (e.g. monet_tfrec)")
    d_learning_rate: float = option(2e-4, help="discriminator Adam learning rate")
    d_filters: int = option(32, help="discriminator width")
    flip: bool = option(True, help="random horizontal flips of the photos")
    cache: bool = option(False, help="cache decoded photos in memory")
    out_dir: str = option("runs/fast_style", help="run folder: checkpoints, sample grids, curves")
    resume: bool | str = option("auto", choices=RESUME_POLICIES,
                                help="auto: continue a run found in out_dir; True: must continue; False: new run")
    samples: int = option(4, help="photos in the per-epoch sample grid")
    steps_per_execution: int = option(1, help="train steps per compiled call")
    jit_compile: bool = option(False, help="XLA (slower than oneDNN on CPUs; try it on GPUs)")
    time_budget: str | None = option(None, help="stop training before this much wall time, e.g. 20m")
    keep_checkpoints: int = option(2, help="epoch checkpoints kept (newest)")
    precision: str = option("float32", choices=PRECISIONS + tuple(ALIASES),
                            help="training precision (auto: the device rule of stx_tf.precision)")
    seed: int = option(0, help="random seed")
    extra: dict = option(factory=dict, cli=False, help="free-form notes copied to the preset's info")

    def validate(self) -> FastStyleConfig:
        """Check values that would otherwise fail deep inside training; returns ``self``."""
        super().validate()
        if self.image_size < 32 or self.style_size < 32:
            raise ValueError(
                f"image_size and style_size must be >= 32, got {self.image_size}, {self.style_size}"
            )
        if len(self.filters) != 3 or min(self.filters) < 1:
            raise ValueError(f"filters must be three positive widths (stem, down1, down2), got {self.filters!r}")
        weights = (self.content_weight, self.style_weight, self.tv_weight, self.adversarial_weight)
        if min(weights) < 0:
            raise ValueError(f"loss weights must be >= 0, got {weights}")
        if self.adversarial_weight > 0 and not self.paintings:
            raise ValueError("adversarial_weight > 0 needs `paintings` (e.g. the Monet TFRecords)")
        if self.time_budget is not None:
            parse_duration(self.time_budget)
        return self

    def check_inputs(self) -> FastStyleConfig:
        """Raise a ``ValueError`` unless the painting and the photos are given (needed to train)."""
        if not self.style:
            raise ValueError("FastStyleConfig.style: give the painting's image file")
        if not self.photos:
            raise ValueError("FastStyleConfig.photos: give a folder / TFRecords / zip of photos")
        return self


def recommended_config(style, photos, smoke: bool | None = None, place: str | None = None, **overrides):
    """A :class:`FastStyleConfig` for where we run (notebooks, demos).

    * smoke mode (``STX_SMOKE=1``): SqueezeNet with random weights, a tiny net, 64 px, 3 steps.
    * Kaggle / Colab (GPU / TPU): the paper's setting, VGG19 ImageNet weights, 256 px, 2 epochs.
    * elsewhere (a CPU): SqueezeNet ("imagenet": ``STX_SQUEEZENET_WEIGHTS`` or a download), the fast widths
      16/32/64 at 160 px, 5 epochs of 200 steps (about 20 minutes on 2 cores).
    """
    smoke = settings.smoke_mode() if smoke is None else smoke
    if smoke:
        base = {"backbone": "squeezenet", "weights": None, "image_size": 64, "style_size": 64}
        base.update(
            batch_size=2, filters=(4, 8, 8), residual_blocks=1, epochs=1, steps_per_epoch=3, samples=2
        )
    elif place not in (None, "local") or (place is None and (settings.on_kaggle() or settings.on_colab())):
        base = {"backbone": "vgg19"}
    else:
        base = {"backbone": "squeezenet", "image_size": 160, "style_size": 320, "filters": (16, 32, 64)}
        base.update(epochs=5, steps_per_epoch=200)
    return FastStyleConfig(style=str(style), photos=photos, **{**base, **overrides})
