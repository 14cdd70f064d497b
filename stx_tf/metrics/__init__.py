"""Local MiFID: score generated images the way Kaggle's "I'm Something of a Painter Myself" does.

* :func:`score` - MiFID, FID, memorisation distance, KID and a report (JSON, histogram, closest images).
* :mod:`~stx_tf.metrics.extractors` - the competition's FID Inception (Keras, :func:`fid_inception`),
  Kaggle's GraphDef, Keras' ImageNet InceptionV3, any Keras model, the labelled SqueezeNet proxy.
* :mod:`~stx_tf.metrics.fid_inception_net` - the 2015 FID Inception graph rebuilt in Keras 3;
  :mod:`~stx_tf.metrics.fid_weights` - its weights from files users can get, without PyTorch.
* :mod:`~stx_tf.metrics.fid`, :mod:`~stx_tf.metrics.mifid`, :mod:`~stx_tf.metrics.kid` - the maths, on
  feature matrices.
* :mod:`~stx_tf.metrics.features` - batched extraction from zips / folders / TFRecords, cached real stats.
"""

from stx_tf.metrics.extractors import (
    EXTRACTORS,
    FeatureExtractor,
    auto_extractor,
    fid_inception,
    get_extractor,
    graphdef_extractor,
    inception_v3,
    keras_extractor,
    squeezenet_proxy,
)
from stx_tf.metrics.features import FeatureSet, extract_features, real_features
from stx_tf.metrics.fid import feature_stats, fid_from_features, frechet_distance
from stx_tf.metrics.kid import kernel_inception_distance
from stx_tf.metrics.mifid import memorisation_distance, mifid, nearest_real, threshold_distance
from stx_tf.metrics.report import ScoreReport, closest_grid, score

__all__ = [
    "EXTRACTORS",
    "FeatureExtractor",
    "FeatureSet",
    "ScoreReport",
    "auto_extractor",
    "closest_grid",
    "extract_features",
    "feature_stats",
    "fid_inception",
    "fid_from_features",
    "frechet_distance",
    "get_extractor",
    "graphdef_extractor",
    "inception_v3",
    "kernel_inception_distance",
    "keras_extractor",
    "memorisation_distance",
    "mifid",
    "nearest_real",
    "real_features",
    "score",
    "squeezenet_proxy",
    "threshold_distance",
]
