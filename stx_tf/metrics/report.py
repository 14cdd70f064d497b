"""Score a set of generated images against real ones: MiFID, FID, memorisation, KID, and the report.

:func:`score` is what ``stx score`` and the notebooks call. It extracts features of both sides
(real-set statistics cached and reused), computes the numbers exactly as Kaggle's scorer does (see
:mod:`stx_tf.metrics.fid` and :mod:`stx_tf.metrics.mifid`) plus KID, and - given ``out_dir`` - writes

* ``score.json`` (atomically): all numbers, the extractor label, the closest pairs, per-image distances;
* ``memorisation_hist.png``: per-generated-image memorisation distances, with the 0.1 threshold;
* ``closest.png``: the generated images closest to a real one, next to that real image - what Kaggle
  would penalise if the mean distance fell under the threshold.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from stx_tf import settings, viz
from stx_tf.atomic import write_json
from stx_tf.metrics.extractors import FeatureExtractor, get_extractor
from stx_tf.metrics.features import DEFAULT_BATCH, IMAGE_SIZE, extract_features, iter_batches, real_features
from stx_tf.metrics.fid import frechet_distance
from stx_tf.metrics.kid import DEFAULT_SUBSET_SIZE, DEFAULT_SUBSETS, kernel_inception_distance, subsets_used
from stx_tf.metrics.mifid import MEMORISATION_THRESHOLD, mifid, nearest_real, threshold_distance

log = settings.get_logger(__name__)

JSON_NAME = "score.json"
HISTOGRAM_NAME = "memorisation_hist.png"
CLOSEST_NAME = "closest.png"


@dataclasses.dataclass
class ScoreReport:
    """The numbers of one score, and where its files went.

    Attributes:
        mifid: ``FID / (d_thr + 1e-14)`` - Kaggle's leaderboard number (lower is better).
        fid: Fréchet distance of the feature statistics.
        mem_distance: memorisation distance ``d`` (mean min ``1 - |cos|``), before thresholding.
        mem_distance_thr: ``d`` if ``d < 0.1`` else ``1``.
        penalised: True when ``d < 0.1``, i.e. MiFID is inflated for memorising the real images.
        kid, kid_std: Kernel Inception Distance mean and standard deviation over subsets.
        kid_subsets: subsets drawn (1 when both sets fit in one subset: std is then 0).
        n_gen, n_real: images on each side.
        extractor: label of the feature extractor (says PROXY, or "close to, not Kaggle's", when it is
            not the competition's network).
        competition_metric: True only with the competition's network (the 2015 graph's ``pool_3``).
        closest: the generated images nearest to a real one: ``[{"generated", "real", "distance"}]``.
        distances: per-generated-image memorisation distance, by image name.
        files: paths of the JSON / PNG files written (empty without ``out_dir``).
    """

    mifid: float
    fid: float
    mem_distance: float
    mem_distance_thr: float
    penalised: bool
    kid: float
    kid_std: float
    kid_subsets: int
    n_gen: int
    n_real: int
    extractor: str
    competition_metric: bool
    generated: str = ""
    real: str = ""
    closest: list[dict] = dataclasses.field(default_factory=list)
    distances: dict[str, float] = dataclasses.field(default_factory=dict, repr=False)
    files: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """The numbers as a few printable lines."""
        lines = [
            f"extractor           {self.extractor}",
            f"images              {self.n_gen} generated vs {self.n_real} real",
            f"MiFID               {self.mifid:.4f}",
            f"FID                 {self.fid:.4f}",
            f"memorisation d      {self.mem_distance:.4f}  (threshold {MEMORISATION_THRESHOLD}: "
            + ("PENALISED, MiFID = FID / d)" if self.penalised else "no penalty, MiFID = FID)"),
            f"KID                 {self.kid:.5f} ± {self.kid_std:.5f}  ({self.kid_subsets} subset(s))",
        ]
        if self.competition_metric:
            lines.append(
                "network             the competition's (2015 FID Inception, float32): Kaggle's number"
            )
        else:
            lines.append(
                "NOTE                NOT Kaggle's number: not the competition's network (set "
                "STX_FID_INCEPTION_WEIGHTS); compare only with scores from the same extractor"
            )
        lines += [f"{name:<19} {path}" for name, path in self.files.items()]
        return "\n".join(lines)


def _pick_images(source, indices, batch_size: int, size: int) -> dict[int, np.ndarray]:
    """Decode only the images at ``indices`` (a second streaming pass over the source)."""
    wanted, found, offset = set(int(i) for i in indices), {}, 0
    for images, names in iter_batches(source, batch_size, size):
        for j in range(len(names)):
            if offset + j in wanted:
                found[offset + j] = np.asarray(images[j])
        offset += len(names)
        if len(found) == len(wanted):
            break
    return found


def closest_grid(
    report: ScoreReport, generated, real, path=None, n: int = 8, size: int = IMAGE_SIZE, show=False
):
    """Grid of the ``n`` generated images closest to real ones, each next to its nearest real image."""
    pairs = report.closest[:n]
    if not pairs:
        return None
    gen = _pick_images(generated, [p["generated_index"] for p in pairs], DEFAULT_BATCH, size)
    real_imgs = _pick_images(real, [p["real_index"] for p in pairs], DEFAULT_BATCH, size)
    images, titles = [], []
    for p in pairs:
        images += [gen[p["generated_index"]], real_imgs[p["real_index"]]]
        titles += [f"{p['generated'][:12]} d={p['distance']:.4f}", f"real {p['real'][:12]}"]
    return viz.image_grid(
        images,
        ncols=min(8, len(images)),
        titles=titles,
        path=path,
        signed=True,
        suptitle="generated images closest to a real one (left) and that real image (right)",
        show=show,
    )


def score(
    generated,
    real,
    extractor="auto",
    weights="auto",
    cache=True,
    out_dir=None,
    json_path=None,
    kid_subsets: int = DEFAULT_SUBSETS,
    kid_subset_size: int = DEFAULT_SUBSET_SIZE,
    batch_size: int = DEFAULT_BATCH,
    n_closest: int = 8,
    max_real: int | None = None,
    progress: bool = True,
    show: bool = False,
) -> ScoreReport:
    """Score generated images against real ones the way Kaggle does (MiFID), plus FID, KID and a report.

    Args:
        generated: the generated images: ``images.zip``, a folder, TFRecords, ... (see
            :func:`stx_tf.data.load_images`; other sizes are resized to 256×256).
        real: the real images (e.g. the Monet paintings), any supported source.
        extractor: ``"auto"`` (default: the competition's network when its weights are found, else the
            best labelled fallback, see :func:`~stx_tf.metrics.extractors.auto_extractor`),
            ``"fid_inception"``, ``"graphdef"``, ``"inception"`` (Keras ImageNet, close to, not Kaggle's),
            ``"squeezenet"`` (labelled proxy), a :class:`~stx_tf.metrics.extractors.FeatureExtractor`, or a
            Keras model.
        weights: weights for a named extractor (``"auto"``: environment / defaults).
        cache: real-set statistics cache (``True``, a folder, an ``.npz`` path, or ``False``).
        out_dir: write ``score.json``, the histogram and the closest-images grid here.
        json_path: write the JSON here instead of ``out_dir/score.json``.
        kid_subsets, kid_subset_size: KID subsets (the size is capped by the smaller set).
        batch_size: images per extractor batch.
        n_closest: pairs in the closest-images grid and the JSON.
        max_real: use only the first ``max_real`` real images (smoke runs; Kaggle uses all of them).
        progress: show progress bars.
        show: display the figures (notebooks).

    Raises:
        ValueError: unreadable input, fewer than 2 images on a side, a missing weights file.
    """
    ext: FeatureExtractor = get_extractor(extractor, weights)
    if not ext.competition_metric:
        log.warning("extractor %s", ext.label)
    real_fs = real_features(real, ext, cache=cache, batch_size=batch_size, progress=progress, limit=max_real)
    gen_fs = extract_features(generated, ext, batch_size=batch_size, progress=progress)
    fid = frechet_distance(*gen_fs.stats, *real_fs.stats)
    dist, nearest, kept = nearest_real(gen_fs.features, real_fs.features)
    d = float(np.mean(dist))
    kid, kid_std = kernel_inception_distance(gen_fs.features, real_fs.features, kid_subsets, kid_subset_size)
    order = np.argsort(dist, kind="stable")[:n_closest]
    closest = [
        {
            "generated": gen_fs.names[kept[i]],
            "real": real_fs.names[nearest[i]],
            "distance": float(dist[i]),
            "generated_index": int(kept[i]),
            "real_index": int(nearest[i]),
        }
        for i in order
    ]
    report = ScoreReport(
        mifid=mifid(fid, d),
        fid=fid,
        mem_distance=d,
        mem_distance_thr=threshold_distance(d),
        penalised=d < MEMORISATION_THRESHOLD,
        kid=kid,
        kid_std=kid_std,
        kid_subsets=subsets_used(len(gen_fs), len(real_fs), kid_subsets, kid_subset_size),
        n_gen=len(gen_fs),
        n_real=len(real_fs),
        extractor=ext.label,
        competition_metric=ext.competition_metric,
        generated=str(generated),
        real=str(real),
        closest=closest,
        distances={gen_fs.names[k]: float(v) for k, v in zip(kept, dist)},
    )
    _write_outputs(report, dist, generated, real, out_dir, json_path, n_closest, show)
    return report


def _write_outputs(report: ScoreReport, dist, generated, real, out_dir, json_path, n_closest, show) -> None:
    if out_dir is not None:
        out_dir = Path(out_dir)
        hist = out_dir / HISTOGRAM_NAME
        viz.histogram(
            dist,
            path=hist,
            title=f"memorisation distance per generated image (mean d = {report.mem_distance:.4f})",
            xlabel="min over real images of 1 - |cos|",
            vlines={"Kaggle threshold (on the mean)": MEMORISATION_THRESHOLD, "mean d": report.mem_distance},
            show=show,
        )
        report.files["histogram"] = str(hist)
        grid = out_dir / CLOSEST_NAME
        closest_grid(report, generated, real, path=grid, n=n_closest, show=show)
        report.files["closest"] = str(grid)
        json_path = json_path or out_dir / JSON_NAME
    if json_path is not None:
        report.files["json"] = str(json_path)
        write_json(Path(json_path), report.to_dict(), indent=2)
