"""The ``CUT`` Keras model: one generator, its patch heads and one discriminator trained by ``fit`` on either
backend.

Contrastive Unpaired Translation, Park, Efros, Zhang & Zhu 2020 (https://arxiv.org/abs/2007.15651; the
authors' code: taesungp/contrastive-unpaired-translation). Instead of CycleGAN's second generator and
cycle, the photo → painting generator ``G`` keeps the content by **PatchNCE**: a patch of ``G(x)``, seen
through ``G``'s own encoder and a small MLP head, must be closer to the patch at the same place of ``x``
than to the other patches of ``x``. Half the generators, no cycle pass: less memory, faster steps.

Shaped like :class:`~stx_tf.cyclegan.model.CycleGAN`: the nets and loss weights in ``__init__``, the
optimiser and the adversarial loss in ``compile()``, the maths once in ``keras.ops``
(:meth:`CUT.compute_losses`) and the one train step of both backends from :mod:`stx_tf.training.steps`.

Notation: ``X`` photos, ``Y`` Monet paintings, batches of ``(photo, painting)`` pairs as made by
:func:`stx_tf.data.pair_domains`. Loss per example (reduced with the GLOBAL batch size):

* generator and heads: ``λ_GAN·adv(D(G(x))) + λ_NCE·NCE(G(x), x)``, with CUT's identity term
  ``½·λ_NCE·(NCE(G(x), x) + NCE(G(y), y))`` in place of the single NCE term; ``D`` frozen here;
* discriminator: ``½·(adv_real(D(y)) + adv_fake(D(G(x))))``, the fakes frozen (through the optional pool).

``NCE`` is :func:`stx_tf.losses.patch_nce_loss_per_example` averaged over the encoder layers, each with
``num_patches`` random positions (drawn with the model's :class:`~stx_tf.nn.StepSeed`, shared by queries
and keys and by the images of a replica's batch; negatives only from the same image). FastCUT flips each
input image with probability ½ before ``G`` and flips the query features back, so ``G``'s encoder must
commute with flips (the paper flips the whole batch at once; here each image draws its own flip).
"""

from __future__ import annotations

import keras
from keras import ops

from stx_tf import losses
from stx_tf.cut.config import NCE_LAYERS
from stx_tf.cut.nets import PatchHeads, feature_model, gather_patches, nce_layer_names, sample_patch_ids
from stx_tf.cyclegan.model import UnpairedPainter
from stx_tf.nn import ImagePool, StepSeed
from stx_tf.training.steps import frozen, global_batch, train_step

#: ``fit`` history keys; ``nce_identity_loss`` only with the identity term (CUT).
METRICS = (
    "gen_loss",  # G's whole loss: λ_GAN·adversarial + NCE
    "disc_loss",  # D's loss
    "adv_loss",  # G's adversarial term alone (λ_GAN-weighted): how well it fools D
    "nce_loss",  # λ_NCE·NCE(G(x), x): how much of the photo's content each patch keeps
    "nce_identity_loss",  # λ_NCE·NCE(G(y), y): CUT's identity term on paintings
)

#: The nets and heads of a CUT by attribute name, in checkpoint order.
NETS = ("monet_generator", "monet_discriminator", "heads")


def flip_where(mask, images):
    """Flip horizontally the images ``(B, H, W, C)`` whose ``mask`` ``(B,)`` entry is true."""
    return ops.where(mask[:, None, None, None], ops.flip(images, axis=2), images)


class CUT(UnpairedPainter):
    """Unpaired photo → Monet translation with one generator (CUT or FastCUT, by the loss settings).

    Build and compile it inside the distribution's scope; feed ``(photo_batch, monet_batch)`` pairs of
    float images in ``[-1, 1]``.

    Args:
        monet_generator: ``G``, photo → Monet, a :func:`~stx_tf.cyclegan.nets.resnet_generator` (its layers
            named in ``nce_layers`` are the encoder).
        monet_discriminator: ``D``, scores paintings ``(B, H, W, 3) -> (B, h, w, 1)``.
        nce_layers: encoder layer names (see :data:`stx_tf.cut.config.NCE_LAYERS`).
        num_patches: positions sampled per layer (256).
        head_units: width of the MLP heads (256).
        temperature: PatchNCE ``τ`` (0.07).
        lambda_gan: weight of the generator's adversarial loss (1).
        lambda_nce: weight of PatchNCE (CUT 1, FastCUT 10).
        nce_idt: add the identity term ``NCE(G(y), y)`` on paintings (CUT yes, FastCUT no).
        flip_equivariance: FastCUT's flips (see the module docs).
        pool_size: images in the discriminator's history pool (the paper: 0).
        image_size: training image side (needed by the pool).
        seed: seed of the step's random draws (patch positions, flips, pool, DiffAugment).
        **kwargs: passed to ``keras.Model``.
    """

    def __init__(
        self,
        monet_generator: keras.Model,
        monet_discriminator: keras.Model,
        nce_layers=NCE_LAYERS,
        num_patches: int = 256,
        head_units: int = 256,
        temperature: float = losses.NCE_TEMPERATURE,
        lambda_gan: float = 1.0,
        lambda_nce: float = 1.0,
        nce_idt: bool = True,
        flip_equivariance: bool = False,
        pool_size: int = 0,
        image_size: int = 256,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if lambda_gan < 0 or lambda_nce < 0:
            raise ValueError(f"loss weights must be >= 0, got λ_GAN={lambda_gan}, λ_NCE={lambda_nce}")
        if num_patches < 1:
            raise ValueError(f"num_patches must be >= 1, got {num_patches}")
        self.monet_generator = monet_generator
        self.monet_discriminator = monet_discriminator
        self.nce_layers = nce_layer_names(monet_generator, nce_layers)
        # Two views of G's own layers (shared weights): one pass that translates and keeps the features of
        # its input (the keys), and the encoder alone (the queries, from the generated images).
        self.translator = feature_model(monet_generator, self.nce_layers, with_image=True, name="translator")
        self.encoder = feature_model(monet_generator, self.nce_layers, name="encoder")
        self.heads = PatchHeads(head_units, name="heads")
        self.heads.build([tuple(out.shape) for out in self.encoder.outputs])  # built now: see PatchHeads
        self.num_patches = int(num_patches)
        self.temperature = float(temperature)
        self.lambda_gan = float(lambda_gan)
        self.lambda_nce = float(lambda_nce)
        self.nce_idt = bool(nce_idt)
        self.flip_equivariance = bool(flip_equivariance)
        self.image_size = int(image_size)
        self.step_seed = StepSeed(int(seed), name="step_seed")
        self.pool = ImagePool((image_size, image_size, 3), pool_size, name="pool")
        names = METRICS if self.nce_idt else tuple(m for m in METRICS if m != "nce_identity_loss")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    # ------------------------------------------------------------------------------------ the maths
    def patch_nce(self, source_features, generated, flipped=None):
        """``λ_NCE``-weighted PatchNCE per example ``(B,)``, averaged over the encoder layers.

        Args:
            source_features: the encoder's features of the input images (the keys), one ``(B, h, w, C)``
                per layer.
            generated: ``G``'s images ``(B, H, W, 3)``; their features are the queries.
            flipped: ``(B,)`` booleans of the inputs FastCUT flipped before ``G`` (their query features are
                flipped back), or ``None``.
        """
        queries = self.encoder(generated, training=True)
        queries = queries if isinstance(queries, list | tuple) else [queries]
        if flipped is not None:
            queries = [flip_where(flipped, q) for q in queries]
        picked_q, picked_k = [], []
        for q, k in zip(queries, source_features):
            ids = sample_patch_ids(k.shape[1] * k.shape[2], self.num_patches, self.step_seed)  # same for q, k
            picked_q.append(gather_patches(q, ids))
            picked_k.append(gather_patches(k, ids))
        per_layer = [
            losses.patch_nce_loss_per_example(q, k, self.temperature)
            for q, k in zip(self.heads(picked_q), self.heads(picked_k))
        ]
        return self.lambda_nce * ops.mean(ops.stack(per_layer, axis=0), axis=0)

    def compute_losses(self, real_x, real_y) -> dict:
        """All per-example losses ``(B,)`` of one batch, by name (also used by tests), plus ``"generators"``
        (what ``G`` and the heads minimise) and ``"discriminators"`` (what ``D`` minimises)."""
        batch = real_x.shape[0] or ops.shape(real_x)[0]
        sources = ops.concatenate([real_x, real_y], axis=0) if self.nce_idt else real_x  # G runs once on both
        if self.flip_equivariance:
            flipped = keras.random.uniform((ops.shape(sources)[0],), seed=self.step_seed) < 0.5
            generated = self.monet_generator(flip_where(flipped, sources), training=True)
            keys = self.encoder(sources, training=True)  # the unflipped inputs' features
            keys = keys if isinstance(keys, list | tuple) else [keys]
        else:
            flipped = None
            generated, *keys = self.translator(sources, training=True)
        nce = self.patch_nce(keys, generated, flipped)  # (B,) or (2B,)
        nce_x = nce[:batch]
        fake_y = generated[:batch]

        judge = self.monet_discriminator
        adversarial = self.lambda_gan * self.gen_loss_fn(frozen(judge, self._augment(fake_y)))
        fake_scores = judge(self._augment(self.pool(fake_y, seed=self.step_seed)), training=True)
        real_scores = judge(self._augment(real_y), training=True)
        disc = self.disc_loss_fn(real_scores, fake_scores, self.label_smoothing)

        out = {"adv_loss": adversarial, "nce_loss": nce_x, "disc_loss": disc, "discriminators": disc}
        if self.nce_idt:
            out["nce_identity_loss"] = nce[batch:]
            out["gen_loss"] = adversarial + 0.5 * (nce_x + out["nce_identity_loss"])
        else:
            out["gen_loss"] = adversarial + nce_x
        out["generators"] = out["gen_loss"]
        return out

    def objective(self, data):
        """``(scalar objective, per-example losses)`` of a ``(photos, paintings)`` batch: the sum of every
        net's loss reduced with the global batch (see :mod:`stx_tf.training.steps`)."""
        per_example = self.compute_losses(*data)
        summed = per_example["generators"] + per_example["discriminators"]
        return losses.reduce_loss(summed, global_batch(data[0])), per_example

    def train_step(self, *args):
        return train_step(self, self.objective, *args)

    # ------------------------------------------------------------------------------------ checkpoints
    def checkpoint_items(self) -> dict:
        """What a run checkpoint holds: ``G``, ``D``, the heads, the optimiser, the pool, the step seed."""
        return {
            **{name: getattr(self, name) for name in NETS},
            "optimizer": self.optimizer,
            "pool": list(self.pool.variables),
            "step_seed": [self.step_seed.state],
        }


def build_cut(config) -> CUT:
    """The (uncompiled) :class:`CUT` a :class:`~stx_tf.cut.config.CUTConfig` describes.

    Call it inside the distribution's scope (and the precision's policy scope).
    """
    from stx_tf.cyclegan.nets import resnet_generator
    from stx_tf.nn import patchgan_discriminator

    return CUT(
        resnet_generator(config.filters, config.res_blocks, config.norm, name="monet_generator"),
        patchgan_discriminator(filters=config.disc_filters, norm=config.norm, name="monet_discriminator"),
        nce_layers=config.nce_layers,
        num_patches=config.num_patches,
        head_units=config.head_units,
        temperature=config.nce_temperature,
        lambda_gan=config.lambda_gan,
        pool_size=config.pool_size,
        image_size=config.image_size,
        seed=config.seed,
        **config.loss_settings(),
    )
