"""``stx submission check ZIP``: verify a submission zip the way Kaggle will."""

from __future__ import annotations


def _check(args) -> int:
    from stx_tf.submission import check_submission

    report = check_submission(args.zip, min_count=args.min, max_count=args.max, size=args.image_size)
    print(report.summary())
    return 0 if report.ok else 1


def register(subparsers) -> None:
    """Add ``stx submission check``."""
    from stx_tf.submission import IMAGE_SIDE, MAX_IMAGES, MIN_IMAGES

    submission = subparsers.add_parser("submission", help="check a Kaggle submission zip")
    sub = submission.add_subparsers(dest="submission_command", metavar="ACTION", required=True)
    p = sub.add_parser("check", help="7,000-10,000 flat entries, each a decodable 256x256 RGB JPEG")
    p.add_argument("zip", help="the submission zip (images.zip)")
    p.add_argument(
        "--min", type=int, default=MIN_IMAGES, help=f"fewest images allowed (default {MIN_IMAGES})"
    )
    p.add_argument("--max", type=int, default=MAX_IMAGES, help=f"most images allowed (default {MAX_IMAGES})")
    p.add_argument("--image-size", type=int, default=IMAGE_SIDE, help=f"required side (default {IMAGE_SIDE})")
    p.set_defaults(func=_check)
