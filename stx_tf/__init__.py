"""stx_tf: painting-style image generation with Keras 3 and TensorFlow.

Modules (import what you need; importing the package itself is cheap):

* :mod:`stx_tf.data` - competition TFRecords, image folders, tfds, writing TFRecords, augmentation.
* :mod:`stx_tf.strategy` - TPU / multi-GPU / multi-worker / CPU strategy and precision.
* :mod:`stx_tf.viz` - grids, before/after, curves, GIFs (always saved as PNG too).
* :mod:`stx_tf.backbones`, :mod:`stx_tf.losses`, :mod:`stx_tf.nst` - Gatys style transfer.
* :mod:`stx_tf.fast_style` - feed-forward style transfer.
* :mod:`stx_tf.cyclegan`, :mod:`stx_tf.submission`, :mod:`stx_tf.metrics` - photo->Monet and MiFID.
* :mod:`stx_tf.dcgan` - 64x64 face generation.
"""

__version__ = "0.1.0"
