"""CUT / FastCUT photo → Monet: config, nets, the ``CUT`` Keras model and its training driver.

Park, Efros, Zhang & Zhu 2020, "Contrastive Learning for Unpaired Image-to-Image Translation",
https://arxiv.org/abs/2007.15651. One generator and one discriminator, with the patchwise contrastive
PatchNCE loss (:func:`stx_tf.losses.patch_nce_loss_per_example`) in place of CycleGAN's second generator
and cycle: fewer nets, faster steps, more epochs in Kaggle's session.

Modules (import from them; importing this package is cheap):

* :mod:`~stx_tf.cut.config` - ``CUTConfig`` (the paper's defaults, ``mode="cut"`` or ``"fastcut"``);
* :mod:`~stx_tf.cut.nets` - the generator's encoder layers, the MLP ``PatchHeads``, patch sampling (the
  generator is CycleGAN's ResNet, :mod:`stx_tf.cyclegan.nets`; the PatchGAN is :mod:`stx_tf.nn`'s);
* :mod:`~stx_tf.cut.model` - the ``CUT`` Keras model (TensorFlow and JAX), ``build_cut``;
* :mod:`~stx_tf.cut.train` - ``train(config, data)``, ``plan``; export, sample grids and generator files are
  CycleGAN's (:mod:`stx_tf.cyclegan.train`), the submission zip :mod:`stx_tf.submission`'s.
"""
