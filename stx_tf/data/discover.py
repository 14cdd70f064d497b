"""Find the competition data by itself: an argument, ``STX_DATA_DIR``, Kaggle's input folder (its GCS path
only on a legacy TPU node), Colab / local folders; the embedded sample only when asked for or in smoke mode.

Without data outside smoke mode the search raises :class:`CompetitionDataNotFound`, saying how to attach
the data where we run: training on the 120-photo synthetic sample is never a silent fall-back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stx_tf import settings
from stx_tf.settings import get_logger

log = get_logger(__name__)

COMPETITION = "gan-getting-started"

#: Places looked at after an explicit argument, ``STX_DATA_DIR`` and Kaggle's input folder.
CANDIDATES = (
    f"/content/{COMPETITION}",
    f"/content/drive/MyDrive/{COMPETITION}",
    COMPETITION,
    f"data/{COMPETITION}",
)

#: How deep below Kaggle's input folder a folder holding ``monet_tfrec/`` (or ``monet_jpg/``) is looked for
#: (``/kaggle/input/datasets/<owner>/<slug>/monet_tfrec`` is 3 levels down).
KAGGLE_SEARCH_DEPTH = 3


class CompetitionDataNotFound(ValueError):
    """The competition data is not attached or downloaded here (the message says how to get it)."""


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


def kaggle_candidates(root=None) -> list[Path]:
    """Folders under Kaggle's input folder (``STX_KAGGLE_INPUT``) that may hold the competition.

    The competition's own mounts first (``<root>/gan-getting-started``,
    ``<root>/competitions/gan-getting-started``), then any folder holding ``monet_tfrec/`` or ``monet_jpg/``
    up to :data:`KAGGLE_SEARCH_DEPTH` levels down (a copy attached as a dataset:
    ``<root>/datasets/<owner>/<slug>``).
    """
    root = Path(root) if root is not None else settings.kaggle_input()
    found = [root / COMPETITION, root / "competitions" / COMPETITION]
    if root.is_dir():
        for depth in range(KAGGLE_SEARCH_DEPTH + 1):
            for domain in ("monet_tfrec", "monet_jpg"):
                pattern = "/".join(["*"] * depth + [domain])
                found += sorted(p.parent for p in root.glob(pattern) if p.is_dir())
    return list(dict.fromkeys(found))


def not_found_message() -> str:
    """Where we looked, and how to attach the competition data here (Kaggle, Colab or a local machine)."""
    looked = f"looked under {settings.kaggle_input()} and in {', '.join(CANDIDATES)}; STX_DATA_DIR is unset"
    if settings.on_kaggle():
        how = (
            "On Kaggle: in the notebook editor, Add Input → Competitions → "
            f'"I\'m Something of a Painter Myself" ({COMPETITION}), then run the setup cell again'
        )
    elif settings.on_colab():
        how = (
            "On Colab: upload your kaggle.json, then `!kaggle competitions download -c "
            f"{COMPETITION} && unzip -q {COMPETITION}.zip -d /content/{COMPETITION}` (or copy the folder to "
            f"Drive as MyDrive/{COMPETITION}), then run the setup cell again"
        )
    else:
        how = (
            f"Download it (`kaggle competitions download -c {COMPETITION}`), unzip it into ./{COMPETITION} "
            "or point STX_DATA_DIR (or data_dir=) at it"
        )
    return (
        f"competition data not found ({looked}). {how}. To try the code on the embedded synthetic sample "
        "instead (120 made-up photos: not a real submission), pass allow_sample=True or set STX_SMOKE=1."
    )


def kaggle_gcs_path() -> str | None:
    """The competition's GCS path on a legacy Kaggle TPU node (``KaggleDatasets().get_gcs_path()``), or
    None."""
    try:
        from kaggle_datasets import KaggleDatasets  # only exists inside Kaggle kernels
    except ImportError:
        return None
    return KaggleDatasets().get_gcs_path(COMPETITION)


def find_competition_data(
    data_dir=None, gcs: bool = False, allow_sample: bool | None = None
) -> CompetitionData:
    """Locate the Monet paintings and photos.

    Args:
        data_dir: an explicit folder (wins over everything else).
        gcs: read the TFRecords through their ``gs://`` path: only for a legacy Kaggle TPU *node*, whose
            TPU cannot read ``/kaggle/input`` (a TPU VM, such as today's v5e-8, reads local files:
            :attr:`stx_tf.backend.Machine.legacy_tpu_node`).
        allow_sample: fall back to the embedded synthetic sample when nothing is found; ``None`` (default)
            allows it in smoke mode only.

    Raises:
        ValueError: ``data_dir`` (or ``STX_DATA_DIR``) given but not in the competition layout.
        CompetitionDataNotFound: nothing found and the sample not allowed (the message says how to attach
            the data).
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
    for candidate in [*kaggle_candidates(), *CANDIDATES]:
        found = from_folder(candidate, str(candidate))
        if found:
            return found
    if allow_sample is None:
        allow_sample = settings.smoke_mode()
    if not allow_sample:
        raise CompetitionDataNotFound(not_found_message())
    from stx_tf.data.sample import embedded_sample

    found = from_folder(embedded_sample(), "embedded sample")
    assert found is not None
    return found
