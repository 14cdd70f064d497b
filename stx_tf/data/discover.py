"""Find the competition data by itself: an argument, ``STX_DATA_DIR``, Kaggle's input folder (or its GCS
path on TPU), Colab / local folders, and finally the embedded sample."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stx_tf import settings
from stx_tf.settings import get_logger

log = get_logger(__name__)

COMPETITION = "gan-getting-started"

#: Places looked at, in order, after an explicit argument and ``STX_DATA_DIR``.
CANDIDATES = (
    f"/kaggle/input/{COMPETITION}",
    f"/kaggle/input/competitions/{COMPETITION}",
    f"/content/{COMPETITION}",
    f"/content/drive/MyDrive/{COMPETITION}",
    COMPETITION,
    f"data/{COMPETITION}",
)


@dataclass
class CompetitionData:
    """Where the two domains are. ``monet`` / ``photo`` are TFRecord patterns or image folders."""

    monet: str
    photo: str
    origin: str
    root: str

    @property
    def is_sample(self) -> bool:
        return self.origin == "embedded sample"

    def counts(self) -> tuple[int, int]:
        """``(n_monet, n_photo)`` without decoding."""
        from stx_tf.data.sources import count_images

        return count_images(self.monet), count_images(self.photo)

    def __str__(self) -> str:
        return f"{self.origin}: monet={self.monet} photo={self.photo}"


def _domain(root: Path, name: str) -> str | None:
    tfrec = root / f"{name}_tfrec"
    if tfrec.is_dir() and any(tfrec.glob("*.tfrec")):
        return str(tfrec)
    jpg = root / f"{name}_jpg"
    if jpg.is_dir() and any(jpg.iterdir()):
        return str(jpg)
    return None


def from_folder(root, origin: str) -> CompetitionData | None:
    """Competition layout in ``root`` (``monet_tfrec``/``monet_jpg`` and ``photo_tfrec``/``photo_jpg``), or None."""
    root = Path(root).expanduser()
    if not root.is_dir():
        return None
    monet, photo = _domain(root, "monet"), _domain(root, "photo")
    if monet and photo:
        return CompetitionData(monet=monet, photo=photo, origin=origin, root=str(root))
    return None


def kaggle_gcs_path() -> str | None:
    """The competition's GCS path on a Kaggle TPU kernel (``KaggleDatasets().get_gcs_path()``), or None."""
    try:
        from kaggle_datasets import KaggleDatasets  # only exists inside Kaggle kernels
    except ImportError:
        return None
    return KaggleDatasets().get_gcs_path(COMPETITION)


def find_competition_data(data_dir=None, gcs: bool = False, allow_sample: bool = True) -> CompetitionData:
    """Locate the Monet paintings and photos.

    Args:
        data_dir: an explicit folder (wins over everything else).
        gcs: on a Kaggle TPU, read the TFRecords through their ``gs://`` path (TPUs cannot read
            ``/kaggle/input``).
        allow_sample: fall back to the embedded synthetic sample.

    Raises:
        ValueError: ``data_dir`` given but not in the competition layout, or nothing found and
            ``allow_sample`` is False.
    """
    if data_dir is not None:
        found = from_folder(data_dir, "argument")
        if not found:
            raise ValueError(
                f"{data_dir}: not the competition layout (expected monet_tfrec/ or monet_jpg/, and photo_tfrec/ "
                "or photo_jpg/)"
            )
        return found
    env = settings.data_dir()
    if env is not None:
        found = from_folder(env, "STX_DATA_DIR")
        if not found:
            raise ValueError(f"STX_DATA_DIR={env}: not the competition layout")
        return found
    if gcs:
        path = kaggle_gcs_path()
        if path:
            return CompetitionData(
                monet=f"{path}/monet_tfrec/*.tfrec",
                photo=f"{path}/photo_tfrec/*.tfrec",
                origin="Kaggle GCS",
                root=path,
            )
    for candidate in CANDIDATES:
        found = from_folder(candidate, candidate)
        if found:
            return found
    if not allow_sample:
        raise ValueError(
            "competition data not found: attach gan-getting-started on Kaggle, set STX_DATA_DIR, or pass a folder"
        )
    from stx_tf.data.sample import embedded_sample

    found = from_folder(embedded_sample(), "embedded sample")
    assert found is not None
    return found
