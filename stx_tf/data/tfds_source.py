"""TensorFlow Datasets' ``cycle_gan/monet2photo`` (downloads where there is internet)."""

from __future__ import annotations

import tensorflow as tf

from stx_tf.data.decode import fit_square_tf, to_signed_float


def load_tfds_monet2photo(split: str = "trainA", data_dir=None, size: int = 256, download: bool = True):
    """Load one split of ``cycle_gan/monet2photo`` as float32 ``(size, size, 3)`` images in ``[-1, 1]``.

    Splits: ``trainA`` / ``testA`` are Monet paintings, ``trainB`` / ``testB`` photos.

    Args:
        split: the split name.
        data_dir: tfds data folder (use a prepared local copy when offline).
        size: output side.
        download: let tfds download the data set.

    Raises:
        ValueError: the data set cannot be loaded (no internet and no local copy), with what to do.
    """
    import tensorflow_datasets as tfds

    try:
        ds = tfds.load(
            "cycle_gan/monet2photo", split=split, data_dir=data_dir, download=download, as_supervised=True
        )
    except Exception as err:  # noqa: BLE001 - tfds raises many kinds of errors when offline
        raise ValueError(
            f"tfds cycle_gan/monet2photo ({split}) could not be loaded: {err}. Without internet, prepare it "
            "where there is internet and pass data_dir=, or use the competition files (find_competition_data)."
        ) from None

    def prep(image, _label):
        return to_signed_float(fit_square_tf(tf.cast(image, tf.uint8), size))

    return ds.map(prep, num_parallel_calls=tf.data.AUTOTUNE)
