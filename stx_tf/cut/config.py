"""The CUT / FastCUT training configuration: one dataclass with the paper's defaults, filled alike by the CLI,
the notebook and the tests (Park, Efros, Zhang & Zhu 2020, https://arxiv.org/abs/2007.15651, section 4 and
the authors' code, taesungp/contrastive-unpaired-translation).

The two modes differ only in three loss settings (:data:`MODES`); a field left at ``None`` takes its
mode's value, so ``--mode fastcut`` alone gives FastCUT and any of the three can still be set by hand.

Importing this module is cheap (no TensorFlow), so the command line can show its defaults."""

from __future__ import annotations

from dataclasses import dataclass

from stx_tf.configs import NORMS, RESUME_POLICIES, Config, option, parse_duration
from stx_tf.precision import ALIASES, PRECISIONS

#: Per mode, the values of the fields left at ``None`` (the paper's table 1 / the authors' defaults).
MODES = {
    "cut": {"lambda_nce": 1.0, "nce_idt": True, "flip_equivariance": False},
    "fastcut": {"lambda_nce": 10.0, "nce_idt": False, "flip_equivariance": True},
}

#: Adversarial losses (:data:`stx_tf.cyclegan.model.ADVERSARIAL_LOSSES`).
ADVERSARIAL = ("lsgan", "bce")

#: The encoder layers of the ResNet generator (:func:`stx_tf.cyclegan.nets.resnet_generator`) whose
#: features PatchNCE compares: the paper's layers 0, 4, 8, 12, 16 - the padded RGB input, the first and
#: second down-sampling convolutions, the outputs of the first and fifth residual blocks. With fewer
#: than five blocks, ``res5_add`` means the last block (see :func:`stx_tf.cut.nets.nce_layer_names`).
NCE_LAYERS = ("c7_pad", "down1", "down2", "res1_add", "res5_add")


@dataclass
class CUTConfig(Config):
    """How to build and train CUT or FastCUT. Defaults are the paper's (ResNet-9 generator, 70×70 PatchGAN,
    LSGAN, PatchNCE on 5 layers with 256 patches each, τ = 0.07, 256-wide MLP heads, Adam 2e-4 / β1 0.5,
    batch 1, 256 px, no image pool), except the schedule: 200 epochs, the last 100 decaying, as CycleGAN
    here (the paper trains CUT 200 + 200 and FastCUT 150 + 50 epochs on 1,000-image data sets)."""

    ARCHITECTURE = ("filters", "res_blocks", "disc_filters", "norm", "nce_layers", "head_units")
    AT_LEAST_ONE = ("filters", "res_blocks", "disc_filters", "image_size", "batch_size", "epochs",
                    "steps_per_execution", "steps_per_epoch", "samples", "num_patches", "head_units",
                    "score_photos")

    out_dir: str = option("outputs/cut", help="run folder: checkpoints, samples, curves, generator")
    resume: bool | str = option(
        "auto", choices=RESUME_POLICIES,
        help="auto: continue a run found in out_dir; True: must continue; False: new run",
    )
    mode: str = option(
        "cut", choices=tuple(MODES),
        help="cut: NCE weight 1 + identity NCE on paintings; fastcut: NCE weight 10, flips, no identity",
    )
    filters: int = option(64, help="ResNet generator width (64; 8 makes smoke runs fast)")
    res_blocks: int = option(9, help="ResNet blocks (9 at 256 px)")
    disc_filters: int = option(64, help="PatchGAN width (64)")
    norm: str = option("instance", choices=NORMS, help="normalisation of the generator and discriminator")
    image_size: int = option(256, help="training side in pixels (the competition's images are 256)")
    batch_size: int = option(1, help="PER-REPLICA batch; the global batch is this x replicas")
    epochs: int = option(200, help="total epochs; each covers every photo once")
    decay_epochs: int = option(100, help="the last N epochs decay the learning rate linearly to 0")
    learning_rate: float = option(2e-4, help="Adam learning rate of the generator, heads and discriminator")
    beta_1: float = option(0.5, help="Adam beta_1")
    lambda_gan: float = option(1.0, help="weight of the generator's adversarial loss")
    lambda_nce: float | None = option(None, help="PatchNCE weight; none: the mode's (CUT 1, FastCUT 10)")
    # Python-only: the CLI's bool flags cannot say "the mode's"; --mode sets both.
    nce_idt: bool | None = option(
        None, cli=False, help="identity PatchNCE on paintings, NCE(G(y), y); None: the mode's"
    )
    flip_equivariance: bool | None = option(
        None, cli=False, help="flip inputs and flip the query features back; None: the mode's"
    )
    nce_layers: tuple[str, ...] = option(factory=lambda: NCE_LAYERS,
                                         help="generator layers whose patches PatchNCE compares")
    num_patches: int = option(256, help="patches sampled per layer and image")
    nce_temperature: float = option(0.07, help="PatchNCE temperature tau")
    head_units: int = option(256, help="width of each layer's 2-layer MLP projection head")
    adversarial_loss: str = option("lsgan", choices=ADVERSARIAL, help="adversarial loss")
    label_smoothing: float = option(0.0, help="one-sided smoothing of the real target (0.1 -> 0.9)")
    pool_size: int = option(0, help="image pool size (the paper's CUT uses none: 0)")
    diff_augment: str | None = option(
        None, help="DiffAugment policy on everything the discriminator sees, e.g. color,translation,cutout"
    )
    jitter: bool = option(True, help="resize +12%% and random crop each training image")
    flip: bool = option(True, help="random horizontal flips of the training images")
    steps_per_epoch: int | None = option(None, help="cap on steps per epoch (default: all photos)")
    steps_per_execution: int = option(
        1, help="train steps per compiled call (fewer host round trips; TPU: 8-64)"
    )
    time_budget: str | None = option(None, help="stop training before this much wall time, e.g. 2h50m")
    samples: int = option(4, help="fixed photos (and paintings) drawn in the per-epoch sample grid")
    keep_checkpoints: int = option(2, help="epoch checkpoints kept (newest)")
    score_every: int = option(0, help="score MiFID every N epochs on a fixed photo subset and keep the best "
                              "epoch as checkpoints/best (0: off)")
    score_photos: int = option(512, help="photos painted and scored per scoring (seeded subset)")
    score_extractor: str = option("auto", help="scoring network: auto (the competition's FID Inception when "
                                  "its weights are found, else a labelled proxy), fid_inception, squeezenet, ...")
    restart_from_best: int = option(0, help="after K scorings without a new best, reload the best epoch and "
                                    "go on with the decaying learning rate (0: never)")
    precision: str = option(
        "auto", choices=PRECISIONS + tuple(ALIASES),
        help="auto: bf16 on TPU and bf16-native CPUs, fp16 on GPUs with tensor cores, else fp32",
    )
    cache: bool = option(False, help="keep decoded images in memory (small data sets only)")
    skip_bad: bool = option(True, help="skip unreadable images/records with a warning and a count")
    seed: int = option(0, help="random seed (weights, shuffling, augmentation, patch choice)")

    def validate(self) -> CUTConfig:
        super().validate()
        name = type(self).__name__
        if self.image_size % 4:
            raise ValueError(f"{name}.image_size must be a multiple of 4, got {self.image_size}")
        if not 0 <= self.decay_epochs <= self.epochs:
            raise ValueError(
                f"{name}.decay_epochs must be in [0, epochs={self.epochs}], got {self.decay_epochs}"
            )
        if self.time_budget is not None:
            parse_duration(self.time_budget)
        if self.diff_augment:
            from stx_tf.data.diffaugment import check_policy

            check_policy(self.diff_augment)
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(f"{name}.label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        if self.lambda_gan < 0 or (self.lambda_nce is not None and self.lambda_nce < 0):
            raise ValueError(f"{name}: loss weights must be >= 0, got {self.lambda_gan}, {self.lambda_nce}")
        if self.score_every < 0 or self.restart_from_best < 0:
            raise ValueError(f"{name}: score_every and restart_from_best must be >= 0, got {self.score_every}, "
                             f"{self.restart_from_best}")
        if self.restart_from_best and not self.score_every:
            raise ValueError(f"{name}: restart_from_best needs scoring during training: set score_every too")
        if self.nce_temperature <= 0:
            raise ValueError(f"{name}.nce_temperature must be > 0, got {self.nce_temperature}")
        if not self.nce_layers:
            raise ValueError(f"{name}.nce_layers must name at least one generator layer")
        self.nce_layers = tuple(self.nce_layers)
        return self

    def loss_settings(self) -> dict:
        """``lambda_nce``, ``nce_idt`` and ``flip_equivariance``: each field's value, or its mode's when
        ``None``."""
        return {key: default if getattr(self, key) is None else getattr(self, key)
                for key, default in MODES[self.mode].items()}

    @property
    def time_budget_seconds(self) -> float | None:
        return None if self.time_budget is None else parse_duration(self.time_budget)
