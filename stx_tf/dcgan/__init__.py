"""DCGAN: generate 64×64 faces from noise (Radford et al. 2015, https://arxiv.org/abs/1511.06434).

* :mod:`~stx_tf.dcgan.config` - :class:`DCGANConfig` (paper defaults).
* :mod:`~stx_tf.dcgan.nets` - the ``"classic"`` and ``"dcgan"`` generator / discriminator designs.
* :mod:`~stx_tf.dcgan.model` - :class:`DCGAN`, the ``keras.Model`` trained with ``fit``.
* :mod:`~stx_tf.dcgan.train` - :func:`train` on the run skeleton, :func:`load_generator`.
* :mod:`~stx_tf.dcgan.sample` - :func:`sample` to a folder or zip, :func:`interpolate` grids.
* :mod:`~stx_tf.dcgan.data` - :func:`find_faces`, :func:`synthetic_faces` (a labelled synthetic stand-in).
"""

from stx_tf.dcgan.config import DCGANConfig
from stx_tf.dcgan.data import Faces, find_faces, synthetic_faces, write_synthetic_faces
from stx_tf.dcgan.model import DCGAN
from stx_tf.dcgan.nets import ARCHITECTURES, build_discriminator, build_generator, build_models
from stx_tf.dcgan.sample import generate, interpolate, latent_points, sample
from stx_tf.dcgan.train import TrainResult, load_generator, train

__all__ = [
    "ARCHITECTURES",
    "DCGAN",
    "DCGANConfig",
    "Faces",
    "TrainResult",
    "build_discriminator",
    "build_generator",
    "build_models",
    "find_faces",
    "generate",
    "interpolate",
    "latent_points",
    "load_generator",
    "sample",
    "synthetic_faces",
    "train",
    "write_synthetic_faces",
]
