"""The CUT / FastCUT training configuration: one dataclass with the paper's defaults, filled alike by the CLI,
the notebook and the tests (Park, Efros, Zhang & Zhu 2020, https://arxiv.org/abs/2007.15651, section 4 and
the authors' code, taesungp/contrastive-unpaired-translation).

The two modes differ only in three loss settings (:data:`MODES`); a field left at ``None`` takes its
mode's value, so ``--mode fastcut`` alone gives FastCUT and any of the three can still be set by hand.

Importing this module is cheap (no TensorFlow), so the command line can show its defaults."""

from __future__ import annotations

from dataclasses import dataclass

from stx_tf.configs import option
from stx_tf.cyclegan.config import UnpairedConfig

#: Per mode, the values of the fields left at ``None`` (the paper's table 1 / the authors' defaults).
MODES = {
    "cut": {"lambda_nce": 1.0, "nce_idt": True, "flip_equivariance": False},
    "fastcut": {"lambda_nce": 10.0, "nce_idt": False, "flip_equivariance": True},
}

#: The encoder layers of the ResNet generator (:func:`stx_tf.cyclegan.nets.resnet_generator`) whose
#: features PatchNCE compares: the paper's layers 0, 4, 8, 12, 16 - the padded RGB input, the first and
#: second down-sampling convolutions, the outputs of the first and fifth residual blocks. With fewer
#: than five blocks, ``res5_add`` means the last block (see :func:`stx_tf.cut.nets.nce_layer_names`).
NCE_LAYERS = ("c7_pad", "down1", "down2", "res1_add", "res5_add")


@dataclass
class CUTConfig(UnpairedConfig):
    """How to build and train CUT or FastCUT. Defaults are the paper's (ResNet-9 generator, 70×70 PatchGAN,
    LSGAN, PatchNCE on 5 layers with 256 patches each, τ = 0.07, 256-wide MLP heads, Adam 2e-4 / β1 0.5,
    batch 1, 256 px, no image pool), except the schedule: 200 epochs, the last 100 decaying, as CycleGAN
    here (the paper trains CUT 200 + 200 and FastCUT 150 + 50 epochs on 1,000-image data sets). The run,
    schedule, scoring and data fields are CycleGAN's (:class:`~stx_tf.cyclegan.config.UnpairedConfig`)."""

    ARCHITECTURE = ("filters", "res_blocks", "disc_filters", "norm", "nce_layers", "head_units")
    AT_LEAST_ONE = ("filters", "res_blocks", "disc_filters", "image_size", "batch_size", "epochs",
                    "steps_per_execution", "steps_per_epoch", "samples", "num_patches", "head_units",
                    "score_photos")

    out_dir: str = option("outputs/cut", help="run folder: checkpoints, samples, curves, generator")
    pool_size: int = option(0, help="image pool size (the paper's CUT uses none: 0)")
    seed: int = option(0, help="random seed (weights, shuffling, augmentation, patch choice)")
    mode: str = option(
        "cut", choices=tuple(MODES),
        help="cut: NCE weight 1 + identity NCE on paintings; fastcut: NCE weight 10, flips, no identity",
    )
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

    def validate(self) -> CUTConfig:
        super().validate()
        name = type(self).__name__
        if self.lambda_gan < 0 or (self.lambda_nce is not None and self.lambda_nce < 0):
            raise ValueError(f"{name}: loss weights must be >= 0, got {self.lambda_gan}, {self.lambda_nce}")
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
