"""stx_tf: painting-style image generation with Keras 3 (TensorFlow and JAX backends).

Modules (import what you need; importing the package itself is cheap):

* :mod:`stx_tf.data` - competition TFRecords, image folders, tfds, writing TFRecords, augmentation.
* :mod:`stx_tf.backend`, :mod:`stx_tf.strategy`, :mod:`stx_tf.precision` - backend, devices, precision.
* :mod:`stx_tf.training` - the run skeleton every painter trains with.
* :mod:`stx_tf.viz` - grids, before/after, curves, GIFs (always saved as PNG too).
* :mod:`stx_tf.backbones`, :mod:`stx_tf.losses`, :mod:`stx_tf.nst` - Gatys style transfer.
* :mod:`stx_tf.arbitrary` - instant "any painting".
* :mod:`stx_tf.fast_style` - feed-forward style transfer.
* :mod:`stx_tf.cyclegan`, :mod:`stx_tf.cut`, :mod:`stx_tf.submission`, :mod:`stx_tf.metrics` - photo->Monet,
  the submission and Kaggle's MiFID.
* :mod:`stx_tf.dcgan` - 64x64 face generation.
"""

__version__ = "0.2.0"
