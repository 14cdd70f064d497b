"""Training the feed-forward painter: Keras models for the two training regimes and their configuration.

* :class:`FastStyleTrainer` - Johnson et al. 2016 (https://arxiv.org/abs/1603.08155): one optimiser,
  the perceptual loss (:mod:`stx_tf.fast_style.perceptual`) written in an overridden ``compute_loss()``,
  so ``model.fit`` does the rest (distribution, ``steps_per_execution``, callbacks, progress bar).
* :class:`AdversarialFastStyleTrainer` - the same plus a PatchGAN discriminator trained on paintings of the
  target painter (e.g. the 300 Monets), adding ``β·adversarial`` (LSGAN, Mao et al. 2017,
  https://arxiv.org/abs/1611.04076) to the transform net's loss. Two optimisers, so it follows the keras-io
  GAN shape: nets and weights in ``__init__``, optimisers in ``compile()``, ``train_step`` with ONE
  persistent tape.

Losses are reduced with the GLOBAL batch size (``sum(per_example) / global_batch``), so the replicas'
gradients add up to the gradient of the global mean under any ``tf.distribute`` strategy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import keras
import tensorflow as tf

from stx_tf import losses as L
from stx_tf import settings
from stx_tf.fast_style.transform import PAPER_FILTERS


@dataclass
class FastStyleConfig:
    """Everything one training run needs; the CLI, notebooks and tests fill this one object.

    Defaults follow Johnson et al. 2016 (256 px crops, batch 4, Adam 1e-3, 5 residual blocks, widths
    32/64/128) except the loss weights, which are set for this package's loss normalisations
    (:mod:`stx_tf.losses`: mean-squared content, ``hw``-normalised Grams, mean-absolute TV).
    """

    style: str = ""  # the painting (image file)
    photos: str = ""  # folder / .tfrec folder / glob / zip / list of images
    name: str | None = None  # preset name (default: the painting's file stem)
    backbone: str = "vgg19"  # "vgg19" (paper) or "squeezenet" (fast, weights available offline)
    weights: str | None = "imagenet"  # "imagenet", a weights file, or None (random: tests / smoke)
    style_layers: tuple[str, ...] | None = None  # None: perceptual.default_layers(backbone)
    content_layers: tuple[str, ...] | None = None
    style_layer_weights: tuple[float, ...] | None = None
    image_size: int = 256  # training crops (paper: 256)
    style_size: int = 512  # longer side of the painting when its Grams are computed
    filters: tuple[int, int, int] = PAPER_FILTERS
    residual_blocks: int = 5
    batch_size: int = 4  # per replica (paper: 4)
    epochs: int = 2  # paper: 2 epochs of COCO (80k images)
    steps_per_epoch: int | None = None  # None: photos // global batch
    learning_rate: float = 1e-3  # Adam (paper)
    content_weight: float = 1.0
    style_weight: float = 3.0
    tv_weight: float = 1.0
    adversarial_weight: float = 0.0  # β; > 0 needs `paintings`
    paintings: str | None = None  # paintings of the target painter for the discriminator
    d_learning_rate: float = 2e-4
    d_filters: int = 32
    flip: bool = True  # random horizontal flips of the photos
    cache: bool = False  # cache decoded photos in memory
    out_dir: str = "runs/fast_style"  # checkpoints, sample grids, loss curves
    resume: bool = False
    checkpoint_every: int | None = None  # steps between mid-epoch backups (None: at epoch ends)
    samples: int = 4  # photos in the per-epoch sample grid
    steps_per_execution: int = 1
    jit_compile: bool = False  # XLA; slower than oneDNN on CPUs, try it on GPUs
    seed: int = 0
    extra: dict = field(default_factory=dict)  # free-form notes copied to the preset's info

    def validate(self) -> FastStyleConfig:
        """Check values that would otherwise fail deep inside training; returns ``self``."""
        if not self.style:
            raise ValueError("FastStyleConfig.style: give the painting's image file")
        if not self.photos:
            raise ValueError("FastStyleConfig.photos: give a folder / TFRecords / zip of photos")
        if self.image_size < 32 or self.style_size < 32:
            raise ValueError(
                f"image_size and style_size must be >= 32, got {self.image_size}, {self.style_size}"
            )
        for key in ("batch_size", "epochs", "samples", "steps_per_execution"):
            if getattr(self, key) < 1:
                raise ValueError(f"FastStyleConfig.{key} must be >= 1, got {getattr(self, key)}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {self.steps_per_epoch}")
        weights = (self.content_weight, self.style_weight, self.tv_weight, self.adversarial_weight)
        if min(weights) < 0:
            raise ValueError(f"loss weights must be >= 0, got {weights}")
        if self.adversarial_weight > 0 and not self.paintings:
            raise ValueError("adversarial_weight > 0 needs `paintings` (e.g. the Monet TFRecords)")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


class FastStyleTrainer(keras.Model):
    """Transform net + frozen perceptual loss; ``fit`` it on batches of photos in ``[0, 1]``.

    Args:
        transform: the transform net (:func:`stx_tf.fast_style.transform.build_transform_net`).
        perceptual: a :class:`stx_tf.fast_style.perceptual.PerceptualLoss` for the painting.
        global_batch_size: batch size summed over replicas (losses are divided by it); ``None`` = batch mean.
    """

    def __init__(self, transform, perceptual, global_batch_size: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.transform = transform
        self.extractor = perceptual.extractor  # tracked, frozen
        self.extractor.trainable = False
        self.perceptual = perceptual
        self.global_batch_size = global_batch_size
        self.content_tracker = keras.metrics.Mean(name="content")
        self.style_tracker = keras.metrics.Mean(name="style")
        self.tv_tracker = keras.metrics.Mean(name="tv")

    def call(self, images, training=False):  # (B, H, W, 3) [0, 1] -> (B, H, W, 3) [0, 1]
        return self.transform(images, training=training)

    def _reduce(self, per_example):
        return L.reduce_loss(per_example, self.global_batch_size)

    def _track(self, terms: dict) -> None:
        self.content_tracker.update_state(terms["content"])
        self.style_tracker.update_state(terms["style"])
        self.tv_tracker.update_state(terms["tv"])

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Perceptual loss of the stylised batch ``y_pred`` against the photos ``x``, globally reduced."""
        terms = self.perceptual.per_example(x, y_pred)
        self._track(terms)
        return self._reduce(terms["total"])


class AdversarialFastStyleTrainer(FastStyleTrainer):
    """:class:`FastStyleTrainer` sharpened by a discriminator on real paintings.

    ``fit`` it on ``(photos, paintings)`` batches (both ``[0, 1]``). The transform net minimises
    ``perceptual + β·LSGAN_G``; the discriminator minimises ``LSGAN_D`` (real paintings vs stylised
    photos). The discriminator sees ``[-1, 1]`` images, the GAN convention of this package.

    Args:
        discriminator: ``(B, H, W, 3)`` in ``[-1, 1]`` -> patch scores (e.g. the CycleGAN PatchGAN).
        adversarial_weight: ``β``.
        Other arguments as :class:`FastStyleTrainer`.
    """

    def __init__(self, transform, perceptual, discriminator, adversarial_weight: float = 0.1, **kwargs):
        super().__init__(transform, perceptual, **kwargs)
        self.discriminator = discriminator
        self.adversarial_weight = float(adversarial_weight)
        self.adv_tracker = keras.metrics.Mean(name="adv")
        self.d_tracker = keras.metrics.Mean(name="d_loss")
        self.g_tracker = keras.metrics.Mean(name="loss")

    def compile(self, optimizer=None, d_optimizer=None, **kwargs):
        """``optimizer`` trains the transform net, ``d_optimizer`` the discriminator (Adam by default)."""
        super().compile(optimizer=optimizer or keras.optimizers.Adam(1e-3), **kwargs)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_optimizer.build(self.discriminator.trainable_variables)  # so backups restore its state

    @property
    def metrics(self):
        trackers = [self.content_tracker, self.style_tracker, self.tv_tracker, self.adv_tracker]
        return [self.g_tracker, *trackers, self.d_tracker]

    def train_step(self, data):
        photos, paintings, _ = keras.utils.unpack_x_y_sample_weight(data)  # (photos, paintings) batches
        with tf.GradientTape(persistent=True) as tape:
            styled = self.transform(photos, training=True)  # (B, H, W, 3) [0, 1]
            terms = self.perceptual.per_example(photos, styled)
            fake_scores = self.discriminator(styled * 2.0 - 1.0, training=True)
            real_scores = self.discriminator(paintings * 2.0 - 1.0, training=True)
            adv = L.lsgan_generator_loss_per_example(fake_scores)  # (B,)
            g_per_example = terms["total"] + self.adversarial_weight * adv
            d_per_example = L.lsgan_discriminator_loss_per_example(real_scores, fake_scores)
            g_loss, d_loss = self._reduce(g_per_example), self._reduce(d_per_example)
        g_vars = self.transform.trainable_variables
        d_vars = self.discriminator.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        del tape
        self._track(terms)
        self.adv_tracker.update_state(adv)
        self.g_tracker.update_state(g_per_example)
        self.d_tracker.update_state(d_per_example)
        return {m.name: m.result() for m in self.metrics}


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
