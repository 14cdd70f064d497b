"""The ``DCGAN`` Keras model: a generator and a discriminator trained against each other by ``fit``.

Radford, Metz & Chintala 2015, https://arxiv.org/abs/1511.06434 (training recipe: Adam, learning rate
2e-4, β1 = 0.5, binary cross-entropy); loop shaped like the keras-io DCGAN example
(https://keras.io/examples/generative/dcgan_overriding_train_step/), with both updates computed from one
forward pass under one persistent tape. Options: one-sided label smoothing (Salimans et al. 2016,
https://arxiv.org/abs/1606.03498), instance noise (Sønderby et al. 2016, https://arxiv.org/abs/1610.04490)
and DiffAugment (Zhao et al. 2020, https://arxiv.org/abs/2006.10738).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from stx_tf import losses
from stx_tf.data.diffaugment import check_policy, diff_augment
from stx_tf.dcgan.nets import latent_dim_of
from stx_tf.nn import StepSeed

#: Paper optimiser settings (Radford et al. 2015, section 4).
LEARNING_RATE = 2e-4
BETA_1 = 0.5


class DCGAN(keras.Model):
    """Unconditional GAN trained with ``fit`` on batches of real images in ``[-1, 1]``.

    Each step draws one latent batch, generates once, scores real and fake images, and updates both
    nets from the same persistent tape (simultaneous updates). Losses are reduced with the *global*
    batch size, so the model trains the same under any ``tf.distribute`` strategy (build and compile
    it inside ``strategy.scope()``). The nets may compute in ``mixed_bfloat16`` (built under that
    Keras dtype policy, see :func:`stx_tf.dcgan.train.build_gan`): variables, gradients, optimiser
    states and the losses stay float32.

    Args:
        generator: ``(B, latent_dim) -> (B, S, S, 3)`` in ``[-1, 1]``.
        discriminator: ``(B, S, S, 3) -> (B, 1)`` logits.
        latent_dim: noise size; defaults to (and must match) the generator's input size.
        label_smoothing: one-sided smoothing of the real labels (0.1 makes them 0.9); 0 disables.
        instance_noise: standard deviation of Gaussian noise added to every image the discriminator
            sees (real and fake); 0 disables.
        diff_augment: DiffAugment policy applied to real and fake images before the discriminator, e.g.
            ``"color,translation,cutout"``; ``None`` or ``""`` disables.
        seed: seed of the step's random draws (noise, instance noise, DiffAugment); the draws' state is
            a model variable, so it is checkpointed and a resumed run continues the same stream.
        **kwargs: passed to ``keras.Model``.

    Metrics (``fit`` history keys): ``d_loss``, ``g_loss``, ``d_acc_real`` (share of real images the
    discriminator calls real) and ``d_acc_fake`` (share of fakes it calls fake).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int | None = None,
        label_smoothing: float = 0.0,
        instance_noise: float = 0.0,
        diff_augment: str | None = None,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        expected = latent_dim_of(generator)
        if latent_dim is not None and int(latent_dim) != expected:
            raise ValueError(f"latent_dim={latent_dim} does not match the generator's input size {expected}")
        if not 0.0 <= label_smoothing < 0.5:
            raise ValueError(f"label_smoothing must be in [0, 0.5), got {label_smoothing}")
        if instance_noise < 0:
            raise ValueError(f"instance_noise must be >= 0, got {instance_noise}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = expected
        self.label_smoothing = float(label_smoothing)
        self.instance_noise = float(instance_noise)
        self.diff_augment = diff_augment or None
        check_policy(self.diff_augment)
        self.step_seed = StepSeed(int(seed), name="step_seed")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_acc_tracker = keras.metrics.Mean(name="d_acc_real")
        self.fake_acc_tracker = keras.metrics.Mean(name="d_acc_fake")
        self.built = True  # both nets are built; fit must not try to build the GAN by calling it on images

    def compile(
        self,
        g_optimizer: keras.optimizers.Optimizer | None = None,
        d_optimizer: keras.optimizers.Optimizer | None = None,
        g_loss_fn=None,
        d_loss_fn=None,
        learning_rate: float = LEARNING_RATE,
        beta_1: float = BETA_1,
        **kwargs,
    ):
        """Set the optimisers and losses.

        Args:
            g_optimizer: generator optimiser (default Adam ``learning_rate``, ``beta_1``).
            d_optimizer: discriminator optimiser (default Adam ``learning_rate``, ``beta_1``).
            g_loss_fn: ``fake_logits -> per-example loss (B,)``; default non-saturating BCE from logits.
            d_loss_fn: ``(real_logits, fake_logits, label_smoothing) -> per-example loss (B,)``;
                default BCE from logits.
            learning_rate: Adam learning rate of the default optimisers (2e-4).
            beta_1: Adam β1 of the default optimisers (0.5).
            **kwargs: passed to ``keras.Model.compile`` (e.g. ``steps_per_execution``, ``jit_compile``).
        """
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(learning_rate, beta_1=beta_1, name="g_adam")
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(learning_rate, beta_1=beta_1, name="d_adam")
        # Create the optimiser slots now (inside the caller's strategy scope), not inside the first train step.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_loss_fn = g_loss_fn or losses.bce_generator_loss_per_example
        self.d_loss_fn = d_loss_fn or losses.bce_discriminator_loss_per_example

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.real_acc_tracker, self.fake_acc_tracker]

    def call(self, z, training: bool = False):
        """Generate images from latent vectors ``z`` of shape ``(B, latent_dim)``."""
        return self.generator(z, training=training)

    def _discriminate(self, images, training: bool):
        """Discriminator logits after the optional DiffAugment and instance noise."""
        images = ops.cast(images, "float32")  # bfloat16 fakes under mixed precision; D casts back itself
        if self.diff_augment:
            images = diff_augment(images, self.diff_augment, seed=self.step_seed)
        if self.instance_noise > 0 and training:
            noise = keras.random.normal(ops.shape(images), stddev=self.instance_noise, seed=self.step_seed)
            images = images + noise
        return self.discriminator(images, training=training)

    def train_step(self, data):
        real = data[0] if isinstance(data, tuple | list) else data
        batch = tf.shape(real)[0]
        global_batch = batch * tf.distribute.get_strategy().num_replicas_in_sync
        z = keras.random.normal((batch, self.latent_dim), seed=self.step_seed)  # (B, latent)
        with tf.GradientTape(persistent=True) as tape:
            fake = self.generator(z, training=True)  # (B, S, S, 3)
            # Logits may be bfloat16 (mixed precision): the losses are always computed in float32.
            real_logits = tf.cast(self._discriminate(real, training=True), tf.float32)  # (B, 1)
            fake_logits = tf.cast(self._discriminate(fake, training=True), tf.float32)  # (B, 1)
            d_each = self.d_loss_fn(real_logits, fake_logits, self.label_smoothing)  # (B,)
            g_each = self.g_loss_fn(fake_logits)  # (B,)
            d_loss = losses.reduce_loss(d_each, global_batch_size=global_batch)
            g_loss = losses.reduce_loss(g_each, global_batch_size=global_batch)
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        del tape
        self.d_loss_tracker.update_state(d_each)
        self.g_loss_tracker.update_state(g_each)
        self.real_acc_tracker.update_state(tf.cast(real_logits > 0, tf.float32))
        self.fake_acc_tracker.update_state(tf.cast(fake_logits < 0, tf.float32))
        return {m.name: m.result() for m in self.metrics}

    def checkpoint_items(self) -> dict:
        """What a run checkpoint holds: both nets, both optimisers, the step seed."""
        return {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "g_optimizer": self.g_optimizer,
            "d_optimizer": self.d_optimizer,
            "step_seed": [self.step_seed.state],
        }
