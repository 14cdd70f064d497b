"""``stx cut …``: train CUT / FastCUT, plan a run for a Kaggle session, export the submission.

The training options are generated from :class:`~stx_tf.cut.config.CUTConfig` (:mod:`stx_tf.cli.options`):
``stx cut train --help`` lists every field with its default. A CUT run folder holds the same
``monet_generator.keras`` and checkpoints as a CycleGAN's, so ``stx cut export`` is
``stx cyclegan export``."""

from __future__ import annotations

import argparse

from stx_tf.cli.cyclegan import add_data_option, add_quiet_option
from stx_tf.cli.options import add_config_options, config_from_args
from stx_tf.cut.config import CUTConfig


def _config_and_data(args):
    from stx_tf.data import find_competition_data

    return config_from_args(CUTConfig, args), find_competition_data(args.data_dir)


def _train(args) -> int:
    from stx_tf.cut.train import train

    config, data = _config_and_data(args)
    result = train(config, data=data, verbose=0 if args.quiet else "auto")
    lines = [
        f"{config.mode}: {result.epochs_done} epochs of {result.steps_per_epoch} steps, "
        f"{result.seconds:.0f} s",
        result.stopped and f"stopped early: {result.stopped}",
        f"generator: {result.generator_path}",
        *(f"curves: {path}" for path in result.run.curves),
        result.samples and f"last sample grid: {result.samples[-1]}",
    ]
    print("\n".join(line for line in lines if line))
    return 0


def _plan(args) -> int:
    from stx_tf.cut.train import plan

    config, data = _config_and_data(args)
    made = plan(config, data, limit=args.limit, reserve=args.reserve, elapsed=args.elapsed)
    print(made.summary())
    planned = made.apply(config)
    if planned is not config:
        print(f"train with: --epochs {planned.epochs} --decay-epochs {planned.decay_epochs} "
              f"--time-budget {planned.time_budget}")
    return 0


def _export(args) -> int:
    from stx_tf.cli import main

    return main(["cyclegan", "export", args.generator, *args.options])


def register(subparsers) -> None:
    """Add ``stx cut train|plan|export``."""
    cut = subparsers.add_parser(
        "cut", help="photo -> Monet CUT / FastCUT (one generator, PatchNCE): train, plan, export images.zip"
    )
    sub = cut.add_subparsers(dest="cut_command", metavar="ACTION", required=True)

    p = sub.add_parser(
        "train", help="train (or resume) CUT or FastCUT; checkpoints, sample grids, loss curves"
    )
    add_data_option(p)
    add_quiet_option(p)
    add_config_options(p, CUTConfig)
    p.set_defaults(func=_train)

    p = sub.add_parser("plan", help="measure step and export speed here; how many epochs fit a session limit")
    add_data_option(p)
    p.add_argument("--limit", default=None, help="session limit, e.g. 3h (Kaggle TPU) or 5h (GPU/CPU)")
    p.add_argument("--elapsed", type=float, default=0.0, help="seconds of the session already used")
    p.add_argument("--reserve", default="15m", help="time kept free after the export (default 15m)")
    add_config_options(p, CUTConfig)
    p.set_defaults(func=_plan)

    p = sub.add_parser(
        "export", help="translate the photos with a CUT run's generator and write a checked submission zip",
        description="The same as `stx cyclegan export` (see its --help for the options: --out, --photos, "
        "--data-dir, --batch-size, --quality, --fill-to, --precision, ...).",
    )
    p.add_argument("generator", help="a CUT run folder or its monet_generator.keras")
    p.add_argument("options", nargs=argparse.REMAINDER, help="options of `stx cyclegan export`")
    p.set_defaults(func=_export)
