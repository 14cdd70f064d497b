"""Fast (feed-forward) style transfer: a network that paints a photo in one pass.

Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and Super-Resolution", ECCV 2016,
https://arxiv.org/abs/1603.08155, with instance norm, reflection padding and resize-convolutions.

Modules:

* :mod:`~stx_tf.fast_style.config` - ``FastStyleConfig``, ``recommended_config``.
* :mod:`~stx_tf.fast_style.nets` - the transform net (any image size).
* :mod:`~stx_tf.fast_style.perceptual` - content / Gram style / TV loss from a frozen backbone.
* :mod:`~stx_tf.fast_style.model` - the Keras trainer models.
* :mod:`~stx_tf.fast_style.train` - ``train(config)`` on the run skeleton (:mod:`stx_tf.training`).
* :mod:`~stx_tf.fast_style.presets` - named ``.keras`` presets in the models folder.
* :mod:`~stx_tf.fast_style.inference` - ``apply`` / ``apply_to_files``: stylise images of any size.
* :mod:`~stx_tf.fast_style.export` - SavedModel and TFLite.

Typical use::

    from stx_tf.fast_style import FastStyleConfig, train_preset, apply
    path, result = train_preset(FastStyleConfig(style="starry.jpg", photos="photos/", backbone="squeezenet"))
    images = apply("starry_night", ["a.jpg", "b.png"])
"""

from stx_tf.fast_style.config import FastStyleConfig, recommended_config
from stx_tf.fast_style.export import export, run_tflite
from stx_tf.fast_style.inference import apply, apply_to_files, predictor, stylize_stream
from stx_tf.fast_style.model import AdversarialFastStyleTrainer, FastStyleTrainer
from stx_tf.fast_style.nets import build_transform_net, is_transform_net
from stx_tf.fast_style.perceptual import PerceptualLoss, build_perceptual_loss
from stx_tf.fast_style.presets import (
    Preset,
    list_presets,
    load_preset,
    preset_path,
    save_preset,
    train_preset,
)
from stx_tf.fast_style.storage import load_transform, save_transform
from stx_tf.fast_style.train import TrainResult, train

__all__ = [
    "AdversarialFastStyleTrainer",
    "FastStyleConfig",
    "FastStyleTrainer",
    "PerceptualLoss",
    "Preset",
    "TrainResult",
    "apply",
    "apply_to_files",
    "build_perceptual_loss",
    "build_transform_net",
    "export",
    "is_transform_net",
    "list_presets",
    "load_preset",
    "load_transform",
    "predictor",
    "recommended_config",
    "preset_path",
    "run_tflite",
    "save_preset",
    "save_transform",
    "stylize_stream",
    "train",
    "train_preset",
]
