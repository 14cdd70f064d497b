"""CycleGAN photo → Monet: generators, PatchGAN, image pool, learning-rate schedule, the ``CycleGAN``
model, its training driver and the quick start.

Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", https://arxiv.org/abs/1703.10593.

Modules (import from them; importing this package is cheap):

* :mod:`~stx_tf.cyclegan.config` - ``CycleGANConfig`` (paper defaults), ``build_cyclegan``;
* :mod:`~stx_tf.cyclegan.generators` - ``resnet_generator``, ``unet_generator``, ``build_generator``;
* :mod:`~stx_tf.cyclegan.discriminators` - ``patchgan_discriminator`` (70×70);
* :mod:`~stx_tf.cyclegan.pool` - ``ImagePool``; :mod:`~stx_tf.cyclegan.schedule` - ``LinearDecay``;
* :mod:`~stx_tf.cyclegan.model` - the ``CycleGAN`` Keras model;
* :mod:`~stx_tf.cyclegan.train` - ``train(config, data, out_dir, resume=...)``;
* :mod:`~stx_tf.cyclegan.checkpoint` - run folders, ``load_generator``;
* :mod:`~stx_tf.cyclegan.callbacks` - sample grids, checkpoints, NaN guard, time budget;
* :mod:`~stx_tf.cyclegan.quickstart` - ``quickstart(out_dir)``.

The submission zip is written by :mod:`stx_tf.submission`.
"""
