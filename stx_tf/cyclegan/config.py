"""The CycleGAN training configuration: one dataclass with the paper's defaults, filled alike by the CLI,
the notebook and the tests (Zhu et al. 2017, https://arxiv.org/abs/1703.10593, section 7.1).

Importing this module is cheap (no TensorFlow), so the command line can show its defaults."""

from __future__ import annotations

from dataclasses import dataclass

from stx_tf.configs import NORMS, RESUME_POLICIES, Config, option, parse_duration
from stx_tf.precision import ALIASES, PRECISIONS

#: Generator designs (:mod:`stx_tf.cyclegan.nets`).
GENERATORS = ("resnet", "unet")

#: Adversarial losses (:data:`stx_tf.cyclegan.model.ADVERSARIAL_LOSSES`).
ADVERSARIAL = ("lsgan", "bce")


@dataclass
class UnpairedConfig(Config):
    """The fields and checks every unpaired photo -> Monet painter shares (CycleGAN, CUT): run folder and
    resume, the ResNet / PatchGAN widths, the schedule, the adversarial loss and augmentation, scoring
    during training, precision and data handling. A painter's config subclasses it and adds its own
    losses and nets (its fields follow these in the CLI's help)."""

    out_dir: str = option("outputs/run", help="run folder: checkpoints, samples, curves, generator")
    resume: bool | str = option("auto", choices=RESUME_POLICIES,
                                help="auto: continue a run found in out_dir; True: must continue; False: new run")
    filters: int = option(64, help="generator width (64 in the paper; 8 makes smoke runs fast)")
    res_blocks: int = option(9, help="ResNet blocks (9 at 256 px, 6 at 128 px in the paper)")
    disc_filters: int = option(64, help="PatchGAN width (64)")
    norm: str = option("instance", choices=NORMS, help="normalisation of every net")
    image_size: int = option(256, help="training side in pixels (the competition's images are 256)")
    batch_size: int = option(1, help="PER-REPLICA batch; the global batch is this x replicas")
    epochs: int = option(200, help="total epochs; each covers every photo once")
    decay_epochs: int = option(100, help="the last N epochs decay the learning rate linearly to 0")
    learning_rate: float = option(2e-4, help="Adam learning rate of every net")
    beta_1: float = option(0.5, help="Adam beta_1")
    adversarial_loss: str = option("lsgan", choices=ADVERSARIAL, help="adversarial loss")
    label_smoothing: float = option(0.0, help="one-sided smoothing of the real target (0.1 -> 0.9)")
    pool_size: int = option(50, help="image pool size (0 disables)")
    diff_augment: str | None = option(
        None, help="DiffAugment policy on everything the discriminators see, e.g. color,translation,cutout"
    )
    jitter: bool = option(True, help="resize +12%% and random crop each training image")
    flip: bool = option(True, help="random horizontal flips")
    steps_per_epoch: int | None = option(None, help="cap on steps per epoch (default: all photos)")
    steps_per_execution: int = option(1, help="train steps per compiled call (fewer host round trips; TPU: 8-64)")
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
    precision: str = option("auto", choices=PRECISIONS + tuple(ALIASES),
                            help="auto: bf16 on TPU and bf16-native CPUs, fp16 on GPUs with tensor cores, else fp32")
    cache: bool = option(False, help="keep decoded images in memory (small data sets only)")
    skip_bad: bool = option(True, help="skip unreadable images/records with a warning and a count")
    seed: int = option(0, help="random seed (weights, shuffling, augmentation)")

    def validate(self):
        super().validate()
        name = type(self).__name__
        if self.image_size % 4:
            raise ValueError(f"{name}.image_size must be a multiple of 4, got {self.image_size}")
        if not 0 <= self.decay_epochs <= self.epochs:
            raise ValueError(f"{name}.decay_epochs must be in [0, epochs={self.epochs}], got {self.decay_epochs}")
        if self.time_budget is not None:
            parse_duration(self.time_budget)
        if self.diff_augment:
            from stx_tf.data.diffaugment import check_policy

            check_policy(self.diff_augment)
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(f"{name}.label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        if self.score_every < 0 or self.restart_from_best < 0:
            raise ValueError(f"{name}: score_every and restart_from_best must be >= 0, got {self.score_every}, "
                             f"{self.restart_from_best}")
        if self.restart_from_best and not self.score_every:
            raise ValueError(f"{name}: restart_from_best needs scoring during training: set score_every too")
        return self

    @property
    def time_budget_seconds(self) -> float | None:
        return None if self.time_budget is None else parse_duration(self.time_budget)


@dataclass
class CycleGANConfig(UnpairedConfig):
    """How to build and train a CycleGAN. Defaults are the paper's (ResNet-9, λ = 10, pool 50, Adam
    2e-4 / β1 0.5, 100 epochs constant + 100 decaying, batch 1, 256 px, LSGAN)."""

    ARCHITECTURE = ("generator", "filters", "res_blocks", "unet_depth", "disc_filters", "norm")
    AT_LEAST_ONE = ("filters", "res_blocks", "disc_filters", "image_size", "batch_size", "epochs",
                    "steps_per_execution", "steps_per_epoch", "samples", "score_photos")

    out_dir: str = option("outputs/cyclegan", help="run folder: checkpoints, samples, curves, generator")
    generator: str = option("resnet", choices=GENERATORS, help="generator design: ResNet (paper) or U-Net")
    unet_depth: int | None = option(None, help="U-Net down-steps (default log2(image_size), at most 8)")
    dropout: float = option(0.5, help="U-Net dropout of the deepest up-steps")
    lambda_cycle: float = option(10.0, help="cycle-consistency weight lambda")
    lambda_identity: float = option(0.5, help="identity weight relative to lambda (0.5 -> 5); 0 disables")

    def validate(self) -> CycleGANConfig:
        super().validate()
        if self.lambda_cycle < 0 or self.lambda_identity < 0:
            raise ValueError(f"loss weights must be >= 0, got {self.lambda_cycle}, {self.lambda_identity}")
        return self
