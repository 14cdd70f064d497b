"""The ``CycleGAN`` Keras model: two generators and two discriminators trained by ``fit``.

Zhu et al. 2017, https://arxiv.org/abs/1703.10593. Shaped like the keras-io CycleGAN example
(https://keras.io/examples/generative/cyclegan/): the nets and the loss weights in ``__init__``, the four
optimisers and the adversarial loss in ``compile()``, one persistent tape in ``train_step``.

Notation: ``X`` photos, ``Y`` Monet paintings; ``G: X → Y`` is :attr:`CycleGAN.monet_generator`,
``F: Y → X`` :attr:`CycleGAN.photo_generator`; ``D_Y`` judges paintings, ``D_X`` photos. Batches are
``(photo, monet)`` pairs as made by :func:`stx_tf.data.pair_domains`.

Loss per example (reduced with the GLOBAL batch size, so any ``tf.distribute`` strategy gives the
single-device result):

* generators: ``adv(D_Y(G(x))) + adv(D_X(F(y))) + λ·(|F(G(x)) - x| + |G(F(y)) - y|)
  + λ_id·λ·(|G(y) - y| + |F(x) - x|)``; each generator's gradient is that of its own paper loss,
  because the other generator's adversarial and identity terms do not depend on it;
* discriminators: ``½·(adv_real(D(real)) + adv_fake(D(pool(fake))))`` for each.

Speed at equal maths: the generators run once on ``[x, y]`` together (translation and identity in one
call), each discriminator once on ``[real, fake, pooled fake]``, one gradient call serves both
generators and one both discriminators, and Adam runs as one fused kernel per variable. Stacking the batch does not change any result with instance
norm (per-image statistics); with batch norm the calls stay separate.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from stx_tf import losses
from stx_tf.cyclegan.optimizers import FusedAdam
from stx_tf.cyclegan.pool import POOL_SIZE, ImagePool

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


def _uses_batch_norm(model) -> bool:
    """True when ``model`` or a nested model holds a batch-norm layer (batch statistics mix images)."""
    if isinstance(model, keras.layers.BatchNormalization):
        return True
    return any(_uses_batch_norm(layer) for layer in getattr(model, "layers", []))


def _stacked(net, parts, training: bool):
    """Run ``net`` once on the batch-concatenation of ``parts`` and split the result back."""
    if len(parts) == 1:
        return [net(parts[0], training=training)]
    out = net(tf.concat(parts, axis=0), training=training)
    return tf.split(out, [tf.shape(p)[0] for p in parts], axis=0)


class CycleGAN(keras.Model):
    """Unpaired photo ↔ Monet translation.

    Build and compile it inside ``strategy.scope()``; feed ``(photo_batch, monet_batch)`` pairs of
    float images in ``[-1, 1]`` with the GLOBAL batch size.

    Args:
        monet_generator: ``G``, photo → Monet, ``(B, H, W, 3) -> (B, H, W, 3)``.
        photo_generator: ``F``, Monet → photo.
        monet_discriminator: ``D_Y``, scores paintings ``(B, H, W, 3) -> (B, h, w, 1)``.
        photo_discriminator: ``D_X``, scores photos.
        lambda_cycle: weight λ of the cycle-consistency loss (10).
        lambda_identity: identity-loss weight relative to λ (0.5, i.e. 5); 0 skips the identity pass.
        pool_size: images in each discriminator's history pool (50; 0 disables).
        image_size: training image side (needed by the pools).
        stack_batches: run the nets on stacked batches (default: yes unless a net uses batch norm).
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
        self.monet_pool = ImagePool((image_size, image_size, 3), pool_size, name="monet_pool")
        self.photo_pool = ImagePool((image_size, image_size, 3), pool_size, name="photo_pool")
        nets = (monet_generator, photo_generator, monet_discriminator, photo_discriminator)
        self.stack_batches = (
            not any(map(_uses_batch_norm, nets)) if stack_batches is None else bool(stack_batches)
        )
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRICS}

    def compile(
        self,
        monet_gen_optimizer: keras.optimizers.Optimizer | None = None,
        photo_gen_optimizer: keras.optimizers.Optimizer | None = None,
        monet_disc_optimizer: keras.optimizers.Optimizer | None = None,
        photo_disc_optimizer: keras.optimizers.Optimizer | None = None,
        adversarial_loss: str = "lsgan",
        label_smoothing: float = 0.0,
        diff_augment: str | None = None,
        learning_rate=LEARNING_RATE,
        beta_1: float = BETA_1,
        **kwargs,
    ):
        """Set the four optimisers and the adversarial loss.

        Args:
            monet_gen_optimizer, photo_gen_optimizer, monet_disc_optimizer, photo_disc_optimizer: one
                optimiser per net (default: Adam(``learning_rate``, ``beta_1``) each, as
                :class:`~stx_tf.cyclegan.optimizers.FusedAdam`: the same update in one fused kernel).
            adversarial_loss: ``"lsgan"`` (paper, Mao et al. 2017) or ``"bce"`` (from logits).
            label_smoothing: one-sided smoothing of the discriminators' real target (0.1 makes it 0.9).
            diff_augment: DiffAugment policy (Zhao et al. 2020, https://arxiv.org/abs/2006.10738), e.g.
                ``"color,translation,cutout"``, applied to every image the discriminators see (real,
                fake and pooled); ``None`` disables.
            learning_rate: float or schedule (e.g. :class:`stx_tf.cyclegan.schedule.LinearDecay`) of the
                default optimisers.
            beta_1: Adam β1 of the default optimisers (0.5).
            **kwargs: ``keras.Model.compile`` arguments, e.g. ``steps_per_execution``, ``jit_compile``.

        Under the ``mixed_float16`` policy (GPUs) each optimiser is wrapped in a ``LossScaleOptimizer``.
        """
        if adversarial_loss not in ADVERSARIAL_LOSSES:
            raise ValueError(
                f"adversarial_loss must be one of {sorted(ADVERSARIAL_LOSSES)}, got {adversarial_loss!r}"
            )
        if not 0.0 <= label_smoothing < 0.5:
            raise ValueError(f"label_smoothing must be in [0, 0.5), got {label_smoothing}")
        if diff_augment:
            from stx_tf.data.diffaugment import diff_augment as check_policy

            check_policy(tf.zeros((1, 8, 8, 3)), diff_augment)  # unknown policy names fail here, not in fit
        super().compile(**kwargs)

        float16 = keras.config.dtype_policy().name == "mixed_float16"

        def adam(given, name):
            optimizer = given or FusedAdam(learning_rate, beta_1=beta_1, name=name)
            if float16 and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)  # fp16 gradients would underflow
            return optimizer

        self.monet_gen_optimizer = adam(monet_gen_optimizer, "monet_gen_adam")
        self.photo_gen_optimizer = adam(photo_gen_optimizer, "photo_gen_adam")
        self.monet_disc_optimizer = adam(monet_disc_optimizer, "monet_disc_adam")
        self.photo_disc_optimizer = adam(photo_disc_optimizer, "photo_disc_adam")
        self.adversarial_loss = adversarial_loss
        self.gen_loss_fn, self.disc_loss_fn = ADVERSARIAL_LOSSES[adversarial_loss]
        self.label_smoothing = float(label_smoothing)
        self.diff_augment = diff_augment or None
        self.build_optimizers()  # slot variables now, in the strategy's scope, not inside the train step

    @property
    def optimizers(self) -> dict:
        """The four optimisers by net name (for checkpoints)."""
        return {
            "monet_generator": self.monet_gen_optimizer,
            "photo_generator": self.photo_gen_optimizer,
            "monet_discriminator": self.monet_disc_optimizer,
            "photo_discriminator": self.photo_disc_optimizer,
        }

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, photos, training: bool = False):
        """Translate photos to Monet paintings with ``G``."""
        return self.monet_generator(photos, training=training)

    def build_optimizers(self) -> None:
        """Create the optimisers' slot variables (under a strategy they cannot be made inside the step;
        checkpoint restore needs them before the first step)."""
        for net, optimizer in self._nets_and_optimizers():
            if not optimizer.built:
                optimizer.build(net.trainable_variables)

    def _nets_and_optimizers(self):
        return [
            (self.monet_generator, self.monet_gen_optimizer),
            (self.photo_generator, self.photo_gen_optimizer),
            (self.monet_discriminator, self.monet_disc_optimizer),
            (self.photo_discriminator, self.photo_disc_optimizer),
        ]

    # ------------------------------------------------------------------------------------ train step
    def _run(self, net, parts, training: bool = True):
        if self.stack_batches:
            return _stacked(net, parts, training)
        return [net(p, training=training) for p in parts]

    def _discriminate(self, net, parts):
        """Discriminator scores of each part; with DiffAugment every image (real, fake, pooled) goes
        through the same policy, each with its own random draw."""
        if self.diff_augment:
            from stx_tf.data.diffaugment import diff_augment

            parts = [diff_augment(p, self.diff_augment) for p in parts]
        return self._run(net, parts)

    def _translate(self, real_x, real_y):
        """Fakes, cycles and identities: ``G(x), F(y), F(G(x)), G(F(y)), G(y), F(x)``."""
        identity = self.lambda_identity > 0
        fake_y, *same_y = self._run(self.monet_generator, [real_x, real_y] if identity else [real_x])
        fake_x, *same_x = self._run(self.photo_generator, [real_y, real_x] if identity else [real_y])
        cycled_x = self.photo_generator(fake_y, training=True)
        cycled_y = self.monet_generator(fake_x, training=True)
        return (
            fake_y,
            fake_x,
            cycled_x,
            cycled_y,
            same_y[0] if identity else None,
            same_x[0] if identity else None,
        )

    def _disc_terms(self, net, pool, real, fake):
        """``(generator adversarial loss, discriminator loss)`` per example for one domain."""
        pooled = pool(fake)
        if pool.pool_size:
            score_real, score_fake, score_pooled = self._discriminate(net, [real, fake, pooled])
        else:
            score_real, score_fake = self._discriminate(net, [real, fake])
            score_pooled = score_fake
        gen = self.gen_loss_fn(score_fake)
        disc = self.disc_loss_fn(score_real, score_pooled, self.label_smoothing)
        return gen, disc

    def compute_losses(self, real_x, real_y):
        """All per-example losses ``(B,)`` of one batch, as a dict (also used by tests)."""
        fake_y, fake_x, cycled_x, cycled_y, same_y, same_x = self._translate(real_x, real_y)
        adv_g, disc_y = self._disc_terms(self.monet_discriminator, self.monet_pool, real_y, fake_y)
        adv_f, disc_x = self._disc_terms(self.photo_discriminator, self.photo_pool, real_x, fake_x)
        cycle = self.lambda_cycle * (
            losses.cycle_loss_per_example(real_x, cycled_x) + losses.cycle_loss_per_example(real_y, cycled_y)
        )
        id_weight = self.lambda_cycle * self.lambda_identity
        id_g = (
            id_weight * losses.identity_loss_per_example(real_y, same_y)
            if same_y is not None
            else 0.0 * cycle
        )
        id_f = (
            id_weight * losses.identity_loss_per_example(real_x, same_x)
            if same_x is not None
            else 0.0 * cycle
        )
        return {
            "monet_gen_loss": adv_g + cycle + id_g,
            "photo_gen_loss": adv_f + cycle + id_f,
            "monet_disc_loss": disc_y,
            "photo_disc_loss": disc_x,
            "monet_adv_loss": adv_g,
            "photo_adv_loss": adv_f,
            "cycle_loss": cycle,
            "identity_loss": id_g + id_f,
            # Sum whose gradient w.r.t. each generator is that generator's own loss gradient.
            "generators": adv_g + adv_f + cycle + id_g + id_f,
            "discriminators": disc_y + disc_x,
        }

    def _apply(self, tape, loss, pairs) -> None:
        """One gradient call of ``loss`` for the variables of all ``(net, optimiser)`` pairs, then updates."""
        variables = [net.trainable_variables for net, _ in pairs]
        grads = tape.gradient(loss, [v for group in variables for v in group])
        start = 0
        for (_, opt), group in zip(pairs, variables):
            opt.apply_gradients(zip(grads[start : start + len(group)], group))
            start += len(group)

    def train_step(self, data):
        real_x, real_y = data  # photos (B, H, W, 3), paintings (B, H, W, 3)
        global_batch = tf.shape(real_x)[0] * tf.distribute.get_strategy().num_replicas_in_sync
        nets = self._nets_and_optimizers()
        with tf.GradientTape(persistent=True) as tape:
            per_example = self.compute_losses(real_x, real_y)
            gen_loss = losses.reduce_loss(per_example["generators"], global_batch_size=global_batch)
            disc_loss = losses.reduce_loss(per_example["discriminators"], global_batch_size=global_batch)
            groups = [(gen_loss, nets[:2]), (disc_loss, nets[2:])]
            if any(isinstance(opt, keras.optimizers.LossScaleOptimizer) for _, opt in nets):
                # float16: each optimiser scales its own loss (inside the tape) and unscales its gradients
                groups = [
                    (opt.scale_loss(loss), [(net, opt)]) for loss, pairs in groups for net, opt in pairs
                ]
        for loss, pairs in groups:
            self._apply(tape, loss, pairs)
        del tape
        for name, tracker in self.trackers.items():
            tracker.update_state(per_example[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}
