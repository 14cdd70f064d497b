"""``stx dcgan``: train a DCGAN on a folder of faces, sample new faces, draw latent interpolations."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    """Add ``stx dcgan train | sample | interpolate``."""
    from stx_tf.cli.options import add_config_options
    from stx_tf.dcgan.config import DCGANConfig

    parser = subparsers.add_parser("dcgan", help="DCGAN: generate 64x64 faces from noise")
    sub = parser.add_subparsers(dest="dcgan_command", metavar="ACTION", required=True)

    p = sub.add_parser(
        "train",
        help="train on a folder of face images (continues a run found in --out-dir)",
        description="Options left out take the defaults of stx_tf.dcgan.DCGANConfig (Radford et al. 2015).",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    add_config_options(p, DCGANConfig)
    p.set_defaults(func=_train)

    p = sub.add_parser("sample", help="generate N images to a folder or a .zip")
    p.add_argument("model", help="generator.keras or a run folder")
    p.add_argument("-n", "--num", type=int, default=64, help="how many images")
    p.add_argument("-o", "--out", required=True, help="output folder, or a path ending in .zip")
    p.add_argument("--seed", type=int, help="latent seed (reproducible samples)")
    p.add_argument("--format", default="png", choices=("png", "jpg"), help="image format")
    p.set_defaults(func=_sample)

    p = sub.add_parser("interpolate", help="draw a latent interpolation grid PNG")
    p.add_argument("model", help="generator.keras or a run folder")
    p.add_argument("-o", "--out", required=True, help="output PNG")
    p.add_argument("--rows", type=int, default=4, help="number of walks")
    p.add_argument("--per-walk", type=int, default=8, help="images per walk")
    p.add_argument("--seed", type=int, default=0, help="latent seed")
    p.add_argument("--linear", action="store_true", help="straight lines instead of slerp")
    p.set_defaults(func=_interpolate)


def _train(args: argparse.Namespace) -> int:
    from stx_tf.cli.options import config_from_args
    from stx_tf.dcgan.config import DCGANConfig
    from stx_tf.dcgan.train import train
    from stx_tf.strategy import get_strategy

    config = config_from_args(DCGANConfig, args)
    result = train(config, strategy=get_strategy(), verbose=0 if args.quiet else "auto")
    last = {k: round(v[-1], 4) for k, v in result.history.items() if v}
    print(f"trained on {result.images_used} images; last epoch: {last}")
    print(f"samples: {result.out_dir / 'samples'}  curves: {', '.join(map(str, result.run.curves))}")
    print(f"generator: {result.generator_path}  interpolation: {result.interpolation}")
    if result.run.stopped:
        print(f"stopped early: {result.run.stopped}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from stx_tf.dcgan.sample import sample
    from stx_tf.dcgan.train import load_generator

    out = sample(load_generator(args.model), args.num, args.out, seed=args.seed, fmt=args.format)
    print(f"wrote {args.num} images to {out}")
    return 0


def _interpolate(args: argparse.Namespace) -> int:
    from stx_tf.dcgan.sample import interpolate
    from stx_tf.dcgan.train import load_generator

    interpolate(
        load_generator(args.model),
        args.out,
        rows=args.rows,
        steps=args.per_walk,
        seed=args.seed,
        spherical=not args.linear,
    )
    print(f"wrote {args.out}")
    return 0
