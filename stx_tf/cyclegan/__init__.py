"""CycleGAN photo → Monet: config, nets, the ``CycleGAN`` model, its training driver, the run planner and
the quick start.

Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", https://arxiv.org/abs/1703.10593.

Modules (import from them; importing this package is cheap):

* :mod:`~stx_tf.cyclegan.config` - ``CycleGANConfig`` (paper defaults);
* :mod:`~stx_tf.cyclegan.nets` - ``resnet_generator``, ``unet_generator``, ``build_generator_from``,
  ``build_discriminator_from`` (the PatchGAN, pool and reflection padding live in :mod:`stx_tf.nn`);
* :mod:`~stx_tf.cyclegan.model` - the ``CycleGAN`` Keras model (TensorFlow and JAX), ``build_cyclegan``;
* :mod:`~stx_tf.cyclegan.train` - ``train(config, data)``, ``load_generator``, ``draw_samples``
  (the run skeleton is :mod:`stx_tf.training`);
* :mod:`~stx_tf.cyclegan.planner` - ``plan_run``: the epochs that fit a Kaggle session with the export;
* :mod:`~stx_tf.cyclegan.quickstart` - ``quickstart(out_dir)``.

The submission zip is written by :mod:`stx_tf.submission`.
"""
