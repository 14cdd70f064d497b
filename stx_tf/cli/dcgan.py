"""``stx dcgan``: train a DCGAN on a folder of faces, sample new faces, draw latent interpolations."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    """Add ``stx dcgan train | sample | interpolate``."""
    parser = subparsers.add_parser("dcgan", help="DCGAN: generate 64x64 faces from noise")
    sub = parser.add_subparsers(dest="dcgan_command", metavar="ACTION", required=True)

    p = sub.add_parser(
        "train",
        help="train on a folder of face images (resumes from the last checkpoint)",
        description="Options left out take the defaults of stx_tf.dcgan.DCGANConfig (Radford et al. 2015).",
    )
    p.add_argument("--images", required=True, help="folder, zip or TFRecords of face images (any size/mode)")
    p.add_argument("--out", dest="out_dir", help="run folder (grids, curves, checkpoints, generator)")
    p.add_argument(
        "--arch", dest="architecture", choices=("classic", "dcgan"), help="network design (classic)"
    )
    p.add_argument("--latent-dim", type=int, help="noise size (100)")
    p.add_argument("--image-size", type=int, help="image side (64)")
    p.add_argument("--epochs", type=int, help="total epochs (25)")
    p.add_argument("--batch-size", type=int, help="per-replica batch size (128)")
    p.add_argument("--lr", dest="learning_rate", type=float, help="Adam learning rate of both nets (2e-4)")
    p.add_argument("--beta1", dest="beta_1", type=float, help="Adam beta_1 (0.5)")
    p.add_argument("--label-smoothing", type=float, help="one-sided label smoothing, e.g. 0.1 (off)")
    p.add_argument("--instance-noise", type=float, help="std of noise on the discriminator's inputs (off)")
    p.add_argument("--augment", help="DiffAugment policy, e.g. color,translation,cutout (off)")
    p.add_argument("--filters", type=int, help="base filters of both nets (smaller = faster)")
    p.add_argument("--max-images", type=int, help="use at most this many images")
    p.add_argument("--grid-size", type=int, help="images per epoch grid (64)")
    p.add_argument("--seed", type=int, help="seed of the fixed noise and shuffling (0)")
    p.add_argument(
        "--steps-per-execution", type=int, help="train steps per graph call (8, or a divisor of the epoch)"
    )
    p.add_argument(
        "--precision",
        choices=("auto", "float32", "mixed_bfloat16"),
        help="compute dtype (auto: bfloat16 on TPU and on CPUs with native bf16, else float32)",
    )
    p.add_argument(
        "--no-resume", dest="resume", action="store_false", default=None, help="ignore checkpoints"
    )
    p.add_argument(
        "--skip-bad", action="store_true", default=None, help="skip unreadable files instead of stopping"
    )
    p.set_defaults(func=_train)

    p = sub.add_parser("sample", help="generate N images to a folder or a .zip")
    p.add_argument("model", help="generator.keras, a checkpoint folder or a run folder")
    p.add_argument("-n", "--num", type=int, default=64, help="how many images")
    p.add_argument("-o", "--out", required=True, help="output folder, or a path ending in .zip")
    p.add_argument("--seed", type=int, help="latent seed (reproducible samples)")
    p.add_argument("--format", default="png", choices=("png", "jpg"), help="image format")
    p.set_defaults(func=_sample)

    p = sub.add_parser("interpolate", help="draw a latent interpolation grid PNG")
    p.add_argument("model", help="generator.keras, a checkpoint folder or a run folder")
    p.add_argument("-o", "--out", required=True, help="output PNG")
    p.add_argument("--rows", type=int, default=4, help="number of walks")
    p.add_argument("--steps", type=int, default=8, help="images per walk")
    p.add_argument("--seed", type=int, default=0, help="latent seed")
    p.add_argument("--linear", action="store_true", help="straight lines instead of slerp")
    p.set_defaults(func=_interpolate)


#: ``stx dcgan train`` options that map one-to-one onto DCGANConfig fields.
_CONFIG_OPTIONS = (
    "images",
    "out_dir",
    "architecture",
    "latent_dim",
    "image_size",
    "epochs",
    "batch_size",
    "learning_rate",
    "beta_1",
    "label_smoothing",
    "instance_noise",
    "augment",
    "max_images",
    "grid_size",
    "seed",
    "steps_per_execution",
    "precision",
    "resume",
    "skip_bad",
)


def _train(args: argparse.Namespace) -> int:
    from stx_tf.dcgan.train import DCGANConfig, train
    from stx_tf.strategy import get_strategy

    given = {name: getattr(args, name) for name in _CONFIG_OPTIONS if getattr(args, name) is not None}
    if args.filters:
        given.update(generator={"filters": args.filters}, discriminator={"filters": args.filters})
    config = DCGANConfig(**given)
    result = train(config, strategy=get_strategy())
    last = {k: round(v[-1], 4) for k, v in result.history.items() if v}
    print(f"trained on {result.images_used} images; last epoch: {last}")
    print(f"grids: {result.out_dir / 'grids'}  curves: {result.loss_curves}, {result.accuracy_curves}")
    print(f"generator: {result.generator_path}  interpolation: {result.interpolation}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from stx_tf.dcgan.checkpoint import load_generator
    from stx_tf.dcgan.sample import sample

    out = sample(load_generator(args.model), args.num, args.out, seed=args.seed, fmt=args.format)
    print(f"wrote {args.num} images to {out}")
    return 0


def _interpolate(args: argparse.Namespace) -> int:
    from stx_tf.dcgan.checkpoint import load_generator
    from stx_tf.dcgan.sample import interpolate

    interpolate(
        load_generator(args.model),
        args.out,
        rows=args.rows,
        steps=args.steps,
        seed=args.seed,
        spherical=not args.linear,
    )
    print(f"wrote {args.out}")
    return 0
