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
        default="inception",
        choices=("inception", "graphdef", "squeezenet", "auto"),
        help="inception: Keras InceptionV3 (imagenet or --weights); graphdef: Kaggle's "
        "classify_image_graph_def.pb (--weights); squeezenet: a labelled PROXY; auto: the best available "
        "(default: inception)",
    )
    p.add_argument("--weights", default=None, help="local weights file (.h5 / .pb) for the extractor")
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
