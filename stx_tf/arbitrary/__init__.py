"""Instant "any painting": arbitrary style transfer in one pass (Magenta's networks).

Ghiasi, Lee, Kudlur, Dumoulin & Shlens, "Exploring the structure of a real-time, arbitrary neural artistic
stylization network" (BMVC 2017, https://arxiv.org/abs/1705.06830). A style-prediction network maps any
painting to a 100-d style vector; a transfer network paints the photo with it (conditional instance
norm). No training and no optimisation: a painting never seen before takes one pass of each network.

Modules: :mod:`~stx_tf.arbitrary.models` (the TFLite pair or the SavedModel, finding them, the TFLite
runtime, how sizes other than 384×384 are handled) and :mod:`~stx_tf.arbitrary.paint` (:func:`paint`, the
style-vector cache, strength, several paintings, colours, sizes).

Example::

    from stx_tf import arbitrary
    image = arbitrary.paint("photo.jpg", "starry_night.jpg", strength=0.8)  # float32, the photo's size
    image = arbitrary.paint("photo.jpg", ["a.jpg", "b.jpg"], weights=[2, 1], preserve_colors=True)
"""

from stx_tf.arbitrary.models import ModelNotFoundError, StyleNetworks, find_model, load_model
from stx_tf.arbitrary.paint import CACHE, PAINT_SIZE, StyleCache, paint, style_vector

__all__ = [
    "CACHE",
    "PAINT_SIZE",
    "ModelNotFoundError",
    "StyleCache",
    "StyleNetworks",
    "find_model",
    "load_model",
    "paint",
    "style_vector",
]
