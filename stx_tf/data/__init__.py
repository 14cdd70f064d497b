"""Data layer: competition TFRecords, image folders and zips, tfds, TFRecord writing, augmentation,
DiffAugment, pipelines and the embedded sample.

Images flow as float32 ``(H, W, 3)`` in ``[-1, 1]``; see :mod:`stx_tf.data.images` for the conversion
and size policy.
"""

from stx_tf.data.augment import augment, augmenter, random_jitter, random_rot90
from stx_tf.data.diffaugment import diff_augment
from stx_tf.data.discover import CompetitionData, find_competition_data
from stx_tf.data.folders import list_images, read_image_folder, read_zip
from stx_tf.data.images import (
    IMAGE_SUFFIXES,
    fit_square,
    load_image,
    open_image,
    read_image_file,
    save_image,
    to_signed,
    to_unit,
)
from stx_tf.data.pipeline import make_pipeline, pair_domains
from stx_tf.data.sample import embedded_sample
from stx_tf.data.sources import all_jpeg, count_images, load_images, source_kind
from stx_tf.data.tfds_source import load_tfds_monet2photo
from stx_tf.data.tfrecords import count_records, read_tfrecords, scan_tfrecords, shard_name, write_tfrecords

__all__ = [
    "IMAGE_SUFFIXES",
    "CompetitionData",
    "all_jpeg",
    "augment",
    "augmenter",
    "count_images",
    "count_records",
    "diff_augment",
    "embedded_sample",
    "find_competition_data",
    "fit_square",
    "list_images",
    "load_image",
    "load_images",
    "load_tfds_monet2photo",
    "make_pipeline",
    "open_image",
    "pair_domains",
    "random_jitter",
    "random_rot90",
    "read_image_file",
    "read_image_folder",
    "read_tfrecords",
    "read_zip",
    "save_image",
    "scan_tfrecords",
    "shard_name",
    "source_kind",
    "to_signed",
    "to_unit",
    "write_tfrecords",
]
