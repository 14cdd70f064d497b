"""The ``CycleGAN`` Keras model: two generators and two discriminators trained by ``fit`` on either backend.

Zhu et al. 2017, https://arxiv.org/abs/1703.10593. Shaped like the keras-io CycleGAN example
(https://keras.io/examples/generative/cyclegan/): the nets and the loss weights in ``__init__``, the
optimiser and the adversarial loss in ``compile()``, the maths once in ``keras.ops``
(:meth:`CycleGAN.compute_losses`) and one train step per backend from :mod:`stx_tf.training.steps`
(a ``GradientTape`` under TensorFlow, the stateless ``train_step(state, data)`` under JAX).

Notation: ``X`` photos, ``Y`` Monet paintings; ``G: X → Y`` is :attr:`CycleGAN.monet_generator`,
``F: Y → X`` :attr:`CycleGAN.photo_generator`; ``D_Y`` judges paintings, ``D_X`` photos. Batches are
``(photo, monet)`` pairs as made by :func:`stx_tf.data.pair_domains`.

Loss per example (reduced with the GLOBAL batch size, so any distribution gives the single-device result):

* generators: ``adv(D_Y(G(x))) + adv(D_X(F(y))) + λ·(|F(G(x)) - x| + |G(F(y)) - y|)
  + λ_id·λ·(|G(y) - y| + |F(x) - x|)``, the discriminators frozen in these terms;
* discriminators: ``½·(adv_real(D(real)) + adv_fake(D(pool(fake))))`` for each, the fakes frozen.

One Adam over all four nets' variables is the paper's four Adams (see :mod:`stx_tf.training.steps`).
The generators run once on ``[x, y]`` together (translation and identity in one call) unless a net uses
batch norm (batch statistics would mix the two).
"""

from __future__ import annotations

import keras
from keras import ops

from stx_tf import losses
from stx_tf.data.diffaugment import check_policy, diff_augment
from stx_tf.nn import POOL_SIZE, ImagePool, StepSeed
from stx_tf.training.steps import frozen, global_batch, train_step

#: Paper settings (Zhu et al. 2017, section 7.1).
LEARNING_RATE = 2e-4
BETA_1 = 0.5
LAMBDA_CYCLE = 10.0
LAMBDA_IDENTITY = 0.5

ADVERSARIAL_LOSSES = {
    "lsgan": (losses.lsgan_generator_loss_per_example, losses.lsgan_discriminator_loss_per_example),
    "bce": (losses.bce_generator_loss_per_example, losses.bce_discriminator_loss_per_example),
}

#: ``fit`` history keys.
METRICS = (
    "monet_gen_loss",  # G's whole loss: adversarial + cycle + identity
    "photo_gen_loss",  # F's whole loss
    "monet_disc_loss",  # D_Y
    "photo_disc_loss",  # D_X
    "monet_adv_loss",  # G's adversarial term alone: how well it fools D_Y
    "photo_adv_loss",  # F's adversarial term alone
    "cycle_loss",  # λ-weighted, both directions
    "identity_loss",  # λ_id·λ-weighted, both generators
)

#: The nets of a CycleGAN by attribute name, in checkpoint order.
NETS = ("monet_generator", "photo_generator", "monet_discriminator", "photo_discriminator")


def uses_batch_norm(model) -> bool:
    """True when ``model`` or a nested model holds a batch-norm layer (batch statistics mix images)."""
    if isinstance(model, keras.layers.BatchNormalization):
        return True
    return any(uses_batch_norm(layer) for layer in getattr(model, "layers", []))


def default_optimizer(learning_rate=LEARNING_RATE, beta_1: float = BETA_1, name: str = "adam"):
    """Adam (the fused TensorFlow kernel under TF, Keras' Adam elsewhere), wrapped in a loss-scale
    optimiser under the ``mixed_float16`` policy (float16 gradients would underflow)."""
    if keras.backend.backend() == "tensorflow":
        from stx_tf.training.optimizers import FusedAdam

        optimizer = FusedAdam(learning_rate, beta_1=beta_1, name=name)
    else:
        optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1, name=name)
    if keras.config.dtype_policy().name == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


class UnpairedPainter(keras.Model):
    """What the unpaired photo → Monet painters (:class:`CycleGAN`, :class:`stx_tf.cut.model.CUT`) share
    around their losses: ``compile()`` (one optimiser over every net, the adversarial loss, label smoothing,
    DiffAugment), the optimiser's slots built in the distribution's scope, the trackers as ``metrics``,
    ``call`` = the photo → Monet generator ``monet_generator``, and DiffAugment seeded per step.

    A subclass sets ``monet_generator``, ``step_seed`` (:class:`~stx_tf.nn.StepSeed`) and ``trackers`` (a
    dict of ``keras.metrics.Mean``) in ``__init__``, and defines ``objective`` and ``train_step``.
    """

    def compile(
        self,
        optimizer: keras.optimizers.Optimizer | None = None,
        adversarial_loss: str = "lsgan",
        label_smoothing: float = 0.0,
        diff_augment: str | None = None,
        learning_rate=LEARNING_RATE,
        beta_1: float = BETA_1,
        **kwargs,
    ):
        """Set the optimiser and the adversarial loss.

        Args:
            optimizer: one optimiser over every net (default :func:`default_optimizer` with
                ``learning_rate`` and ``beta_1``: the papers' Adams, equal settings for each net).
            adversarial_loss: ``"lsgan"`` (paper, Mao et al. 2017) or ``"bce"`` (from logits).
            label_smoothing: one-sided smoothing of the discriminators' real target (0.1 makes it 0.9).
            diff_augment: DiffAugment policy (Zhao et al. 2020, https://arxiv.org/abs/2006.10738), e.g.
                ``"color,translation,cutout"``, applied to every image the discriminator(s) see (real,
                fake and pooled); ``None`` disables.
            learning_rate: float or schedule (e.g. :class:`stx_tf.training.schedule.LinearDecay`).
            beta_1: Adam β1 of the default optimiser (0.5).
            **kwargs: ``keras.Model.compile`` arguments, e.g. ``steps_per_execution``, ``jit_compile``.
        """
        if adversarial_loss not in ADVERSARIAL_LOSSES:
            raise ValueError(
                f"adversarial_loss must be one of {sorted(ADVERSARIAL_LOSSES)}, got {adversarial_loss!r}"
            )
        if not 0.0 <= label_smoothing < 0.5:
            raise ValueError(f"label_smoothing must be in [0, 0.5), got {label_smoothing}")
        check_policy(diff_augment)  # unknown policy names fail here, not in fit
        super().compile(optimizer=optimizer or default_optimizer(learning_rate, beta_1), **kwargs)
        self.adversarial_loss = adversarial_loss
        self.gen_loss_fn, self.disc_loss_fn = ADVERSARIAL_LOSSES[adversarial_loss]
        self.label_smoothing = float(label_smoothing)
        self.diff_augment = diff_augment or None
        self.build_optimizer()

    def build_optimizer(self) -> None:
        """Create the optimiser's slot variables now (in the distribution's scope, not inside the step;
        a checkpoint restore needs them before the first step)."""
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, photos, training: bool = False):
        """Translate photos to Monet paintings with ``G``."""
        return self.monet_generator(photos, training=training)

    def _augment(self, images):
        if not self.diff_augment:
            return images
        return diff_augment(images, self.diff_augment, seed=self.step_seed)


class CycleGAN(UnpairedPainter):
    """Unpaired photo ↔ Monet translation.

    Build and compile it inside the distribution's scope; feed ``(photo_batch, monet_batch)`` pairs of
    float images in ``[-1, 1]``.

    Args:
        monet_generator: ``G``, photo → Monet, ``(B, H, W, 3) -> (B, H, W, 3)``.
        photo_generator: ``F``, Monet → photo.
        monet_discriminator: ``D_Y``, scores paintings ``(B, H, W, 3) -> (B, h, w, 1)``.
        photo_discriminator: ``D_X``, scores photos.
        lambda_cycle: weight λ of the cycle-consistency loss (10).
        lambda_identity: identity-loss weight relative to λ (0.5, i.e. 5); 0 skips the identity pass.
        pool_size: images in each discriminator's history pool (50; 0 disables).
        image_size: training image side (needed by the pools).
        stack_batches: run the generators on stacked batches (default: yes unless a net uses batch norm).
        seed: seed of the step's random draws (pool swaps, DiffAugment).
        **kwargs: passed to ``keras.Model``.
    """

    def __init__(
        self,
        monet_generator: keras.Model,
        photo_generator: keras.Model,
        monet_discriminator: keras.Model,
        photo_discriminator: keras.Model,
        lambda_cycle: float = LAMBDA_CYCLE,
        lambda_identity: float = LAMBDA_IDENTITY,
        pool_size: int = POOL_SIZE,
        image_size: int = 256,
        stack_batches: bool | None = None,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if lambda_cycle < 0 or lambda_identity < 0:
            raise ValueError(f"loss weights must be >= 0, got λ={lambda_cycle}, λ_id={lambda_identity}")
        self.monet_generator = monet_generator
        self.photo_generator = photo_generator
        self.monet_discriminator = monet_discriminator
        self.photo_discriminator = photo_discriminator
        self.lambda_cycle = float(lambda_cycle)
        self.lambda_identity = float(lambda_identity)
        self.image_size = int(image_size)
        self.step_seed = StepSeed(int(seed), name="step_seed")
        shape = (image_size, image_size, 3)
        self.monet_pool = ImagePool(shape, pool_size, name="monet_pool")
        self.photo_pool = ImagePool(shape, pool_size, name="photo_pool")
        nets = (monet_generator, photo_generator, monet_discriminator, photo_discriminator)
        self.stack_batches = (
            not any(map(uses_batch_norm, nets)) if stack_batches is None else bool(stack_batches)
        )
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRICS}

    # ------------------------------------------------------------------------------------ the maths
    def _run(self, net, parts):
        """``net`` on each part (one call on the stacked parts when allowed)."""
        if self.stack_batches and len(parts) > 1:
            out = net(ops.concatenate(parts, axis=0), training=True)
            return ops.split(out, len(parts), axis=0)
        return [net(p, training=True) for p in parts]

    def _adversarial(self, net, pool, real, fake):
        """``(generator term, discriminator term)`` per example for one domain: the generator's term
        sees a frozen discriminator, the discriminator's term sees pooled (frozen) fakes."""
        gen = self.gen_loss_fn(frozen(net, self._augment(fake)))
        pooled = pool(fake, seed=self.step_seed)
        score_real, score_pooled = self._run(net, [self._augment(real), self._augment(pooled)])
        return gen, self.disc_loss_fn(score_real, score_pooled, self.label_smoothing)

    def compute_losses(self, real_x, real_y) -> dict:
        """All per-example losses ``(B,)`` of one batch, by name (also used by tests), plus
        ``"generators"`` and ``"discriminators"``: the sums each group of nets minimises."""
        identity = self.lambda_identity > 0
        # Three generator calls for the six images: G's first call paints fake_y, so F's call can take
        # fake_y (its cycle) beside real_y and real_x; only G's cycle of fake_x waits for F. Larger
        # stacked batches run the U-Net's small deep layers at a better rate on a CPU.
        fake_y, *same_y = self._run(self.monet_generator, [real_x, real_y] if identity else [real_x])
        fake_x, *rest = self._run(self.photo_generator, [real_y, real_x, fake_y] if identity else [real_y, fake_y])
        same_x, cycled_x = rest[:-1], rest[-1]
        cycled_y = self.monet_generator(fake_x, training=True)
        adv_g, disc_y = self._adversarial(self.monet_discriminator, self.monet_pool, real_y, fake_y)
        adv_f, disc_x = self._adversarial(self.photo_discriminator, self.photo_pool, real_x, fake_x)
        cycle = self.lambda_cycle * (
            losses.cycle_loss_per_example(real_x, cycled_x) + losses.cycle_loss_per_example(real_y, cycled_y)
        )
        id_weight = self.lambda_cycle * self.lambda_identity
        id_g = id_weight * losses.identity_loss_per_example(real_y, same_y[0]) if identity else 0.0 * cycle
        id_f = id_weight * losses.identity_loss_per_example(real_x, same_x[0]) if identity else 0.0 * cycle
        return {
            "monet_gen_loss": adv_g + cycle + id_g,
            "photo_gen_loss": adv_f + cycle + id_f,
            "monet_disc_loss": disc_y,
            "photo_disc_loss": disc_x,
            "monet_adv_loss": adv_g,
            "photo_adv_loss": adv_f,
            "cycle_loss": cycle,
            "identity_loss": id_g + id_f,
            "generators": adv_g + adv_f + cycle + id_g + id_f,
            "discriminators": disc_y + disc_x,
        }

    def objective(self, data):
        """``(scalar objective, per-example losses)`` of a ``(photos, paintings)`` batch, reduced with
        the global batch (see :mod:`stx_tf.training.steps`)."""
        real_x, real_y = data
        per_example = self.compute_losses(real_x, real_y)
        batch = global_batch(real_x)
        total = losses.reduce_loss(per_example["generators"] + per_example["discriminators"], batch)
        return total, per_example

    def train_step(self, *args):
        return train_step(self, self.objective, *args)

    # ------------------------------------------------------------------------------------ checkpoints
    def checkpoint_items(self) -> dict:
        """What a run checkpoint holds: the four nets, the optimiser, the pools, the step seed."""
        return {
            **{name: getattr(self, name) for name in NETS},
            "optimizer": self.optimizer,
            "pools": [*self.monet_pool.variables, *self.photo_pool.variables],
            "step_seed": [self.step_seed.state],
        }


def build_cyclegan(config) -> CycleGAN:
    """The (uncompiled) :class:`CycleGAN` a :class:`~stx_tf.cyclegan.config.CycleGANConfig` describes.

    Call it inside the distribution's scope (and the precision's policy scope).
    """
    from stx_tf.cyclegan.nets import build_discriminator_from, build_generator_from

    return CycleGAN(
        build_generator_from(config, "monet_generator"),
        build_generator_from(config, "photo_generator"),
        build_discriminator_from(config, "monet_discriminator"),
        build_discriminator_from(config, "photo_discriminator"),
        lambda_cycle=config.lambda_cycle,
        lambda_identity=config.lambda_identity,
        pool_size=config.pool_size,
        image_size=config.image_size,
        seed=config.seed,
    )
