"""``stx cyclegan …``: train, plan, export the submission, and the quick start.

The training options are generated from :class:`~stx_tf.cyclegan.config.CycleGANConfig`
(:mod:`stx_tf.cli.options`): ``stx cyclegan train --help`` lists every field with its default."""

from __future__ import annotations

import argparse

from stx_tf.cli.options import add_config_options, config_from_args
from stx_tf.cyclegan.config import CycleGANConfig


def _data(args):
    from stx_tf.data import find_competition_data

    return find_competition_data(args.data_dir)


def _train(args) -> int:
    from stx_tf.cyclegan.train import train

    result = train(config_from_args(CycleGANConfig, args), data=_data(args), verbose=0 if args.quiet else "auto")
    print(f"epochs done: {result.epochs_done} ({result.steps_per_epoch} steps each), {result.seconds:.0f} s")
    if result.stopped:
        print(f"stopped early: {result.stopped}")
    print(f"generator: {result.generator_path}")
    for path in result.run.curves:
        print(f"curves: {path}")
    if result.run.samples:
        print(f"last sample grid: {result.run.samples[-1]}")
    return 0


def _plan(args) -> int:
    from stx_tf.cyclegan.planner import plan_run

    config = config_from_args(CycleGANConfig, args)
    plan = plan_run(config, data=_data(args), limit=args.limit, reserve=args.reserve, elapsed=args.elapsed)
    print(plan.summary())
    if args.plot:
        plan.plot(args.plot)
        print(f"plan picture: {args.plot}")
    planned = plan.apply(config)
    if planned is not config:
        print(
            f"train with: --epochs {planned.epochs} --decay-epochs {planned.decay_epochs} --time-budget {planned.time_budget}"
        )
    return 0


def _export(args) -> int:
    from pathlib import Path

    from stx_tf.cyclegan.train import generator_source, load_generator
    from stx_tf.submission import export_submission

    if Path(args.generator).is_dir():
        print(f"exporting {generator_source(args.generator, args.which)[1]}")
    photos = args.photos or _data(args).photo
    report = export_submission(
        load_generator(args.generator, args.which),
        photos,
        args.out,
        batch_size=args.batch_size,
        quality=args.quality,
        fill_to=args.fill_to,
        skip_bad=args.skip_bad,
        check=args.check,
        precision=args.precision,
    )
    print(report.summary())
    if report.check:
        print(report.check.summary())
    return 0


def _quickstart(args) -> int:
    from stx_tf.cyclegan.quickstart import quickstart

    data = _data(args) if args.data_dir else None
    print(quickstart(args.out_dir, data=data, precision=args.precision).summary)
    return 0


def add_data_option(p) -> None:
    p.add_argument("--data-dir", default=None, help="competition data folder (default: found by itself)")


def add_quiet_option(p) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def register(subparsers) -> None:
    """Add ``stx cyclegan train|plan|export|quickstart``."""
    cyclegan = subparsers.add_parser(
        "cyclegan", help="photo -> Monet CycleGAN: train, plan, export images.zip, quick start"
    )
    sub = cyclegan.add_subparsers(dest="cyclegan_command", metavar="ACTION", required=True)

    p = sub.add_parser("train", help="train (or resume) a CycleGAN; checkpoints, sample grids, loss curves")
    add_data_option(p)
    add_quiet_option(p)
    add_config_options(p, CycleGANConfig)
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "plan", help="measure step and export speed here; how many epochs fit a session limit (e.g. 3h)"
    )
    add_data_option(p)
    p.add_argument("--limit", default=None, help="session limit, e.g. 3h (Kaggle TPU) or 5h (GPU/CPU)")
    p.add_argument("--elapsed", type=float, default=0.0, help="seconds of the session already used")
    p.add_argument("--reserve", default="15m", help="time kept free after the export (default 15m)")
    p.add_argument("--plot", default=None, help="write the plan as a PNG here")
    add_config_options(p, CycleGANConfig)
    p.set_defaults(func=_plan)

    p = sub.add_parser("export", help="translate the photos and write a checked submission zip")
    p.add_argument("generator", help="a monet_generator.keras file or a training run folder")
    p.add_argument("--from", dest="which", choices=("best", "last"), default="best",
                   help="a run folder's best scored epoch (when it was scored during training) or its last (default: best)")
    p.add_argument("--photos", default=None, help="photos to translate (default: the competition's)")
    add_data_option(p)
    p.add_argument("--out", default="images.zip", help="zip to write (default: images.zip)")
    p.add_argument(
        "--batch-size", type=int, default=None, help="photos per generator call (default: 8 on CPU, 32 on GPU/TPU)"
    )
    p.add_argument("--quality", type=int, default=95, help="JPEG quality 1-100 (default 95)")
    p.add_argument(
        "--fill-to", type=int, default=None,
        help="with fewer than 7000 photos, add flipped/cropped re-runs up to this many images",
    )
    p.add_argument("--skip-bad", action=argparse.BooleanOptionalAction, default=True,
                   help="skip unreadable photo records with a warning (default: on)")
    p.add_argument("--check", action=argparse.BooleanOptionalAction, default=True,
                   help="check the finished zip (default: on)")
    p.add_argument("--precision", default="auto",
                   help="inference precision: auto (the one precision rule), float32, bfloat16, float16")
    p.set_defaults(func=_export)

    p = sub.add_parser("quickstart", help="train briefly on the embedded sample, export images.zip + a preview")
    p.add_argument("--out-dir", default="outputs/quickstart", help="output folder (default: outputs/quickstart)")
    p.add_argument("--precision", default="auto", help="auto (default), float32, bfloat16, ...")
    add_data_option(p)
    p.set_defaults(func=_quickstart)
