"""The DCGAN training configuration: one dataclass with Radford et al.'s defaults, filled alike by the CLI,
the notebook and the tests (https://arxiv.org/abs/1511.06434). Importing it is cheap (no TensorFlow)."""

from __future__ import annotations

from dataclasses import dataclass

from stx_tf.configs import RESUME_POLICIES, Config, option, parse_duration
from stx_tf.precision import ALIASES, PRECISIONS

#: Network designs (:data:`stx_tf.dcgan.nets.ARCHITECTURES`).
DESIGNS = ("classic", "dcgan")


@dataclass
class DCGANConfig(Config):
    """One DCGAN run. Defaults follow Radford et al. 2015 (Adam 2e-4, β1 0.5, batch 128, 64 px, 100-d noise)."""

    ARCHITECTURE = ("architecture", "latent_dim", "image_size", "generator", "discriminator")
    AT_LEAST_ONE = ("latent_dim", "image_size", "batch_size", "epochs", "grid_size", "steps_per_execution",
                    "max_images", "keep_checkpoints")

    images: str | None = option(None, help="faces: a folder (any sizes/modes), a zip, TFRecords or a glob")
    out_dir: str = option("runs/dcgan", help="run folder: grids, curves, checkpoints, final generator")
    resume: bool | str = option("auto", choices=RESUME_POLICIES,
                                help="auto: continue a run found in out_dir; True: must continue; False: new run")
    architecture: str = option("classic", choices=DESIGNS,
                               help="classic: small Keras-tutorial nets; dcgan: Radford et al.")
    latent_dim: int = option(100, help="noise size")
    image_size: int = option(64, help="image side in pixels")
    batch_size: int = option(128, help="PER-REPLICA batch; the global batch is this x replicas")
    epochs: int = option(25, help="total epochs (a resumed run continues up to this number)")
    learning_rate: float = option(2e-4, help="Adam learning rate of both nets")
    beta_1: float = option(0.5, help="Adam beta_1")
    label_smoothing: float = option(0.0, help="one-sided smoothing of the real labels (0.1 -> 0.9)")
    instance_noise: float = option(0.0, help="std of Gaussian noise added to the discriminator's inputs")
    diff_augment: str | None = option(None, help="DiffAugment policy, e.g. color,translation,cutout")
    filters: int | None = option(None, help="base width of both nets (default: each design's own)")
    generator: dict = option(factory=dict, cli=False, help="extra keyword config of the generator factory")
    discriminator: dict = option(factory=dict, cli=False, help="extra keyword config of the discriminator")
    max_images: int | None = option(None, help="use at most this many images")
    grid_size: int = option(64, help="images in each per-epoch fixed-noise grid")
    steps_per_execution: int = option(8, help="train steps per compiled call (lowered to a divisor of the epoch)")
    time_budget: str | None = option(None, help="stop training before this much wall time, e.g. 50m")
    precision: str = option("auto", choices=PRECISIONS + tuple(ALIASES),
                            help="auto: bf16 on TPU and bf16-native CPUs, fp16 on GPUs with tensor cores, else fp32")
    keep_checkpoints: int = option(2, help="epoch checkpoints kept (newest)")
    skip_bad: bool = option(False, help="skip unreadable images with a warning instead of stopping")
    seed: int = option(0, help="seed of the weights, the fixed noise, the shuffling")

    def validate(self) -> DCGANConfig:
        super().validate()
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(f"DCGANConfig.label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        if self.instance_noise < 0:
            raise ValueError(f"DCGANConfig.instance_noise must be >= 0, got {self.instance_noise}")
        if self.time_budget is not None:
            parse_duration(self.time_budget)
        return self

    def net_configs(self) -> tuple[dict, dict]:
        """The keyword configs of the generator and discriminator factories (``filters`` applied to both)."""
        extra = {"filters": self.filters} if self.filters else {}
        return {**extra, **self.generator}, {**extra, **self.discriminator}
