"""The Keras models that train the feed-forward painter, for the two training regimes.

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

import keras
import tensorflow as tf

from stx_tf import losses as L


class FastStyleTrainer(keras.Model):
    """Transform net + frozen perceptual loss; ``fit`` it on batches of photos in ``[0, 1]``.

    Args:
        transform: the transform net (:func:`stx_tf.fast_style.nets.build_transform_net`).
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

    def checkpoint_items(self) -> dict:
        """What a run checkpoint holds: the transform net and its optimiser."""
        return {"transform": self.transform, "optimizer": self.optimizer}


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
        self.d_optimizer.build(self.discriminator.trainable_variables)  # so checkpoints restore its state

    def checkpoint_items(self) -> dict:
        """What a run checkpoint holds: both nets and both optimisers."""
        return {**super().checkpoint_items(), "discriminator": self.discriminator, "d_optimizer": self.d_optimizer}

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

