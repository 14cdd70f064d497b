"""``stx cyclegan …``: train, export the submission, and the quick start."""

from __future__ import annotations

from stx_tf.cyclegan.config import CycleGANConfig

#: CLI option -> config field, for the options that map one to one.
_TRAIN_OPTIONS = {
    "generator": str,
    "filters": int,
    "res_blocks": int,
    "disc_filters": int,
    "norm": str,
    "image_size": int,
    "batch_size": int,
    "epochs": int,
    "decay_epochs": int,
    "learning_rate": float,
    "lambda_cycle": float,
    "lambda_identity": float,
    "adversarial_loss": str,
    "label_smoothing": float,
    "pool_size": int,
    "steps_per_epoch": int,
    "steps_per_execution": int,
    "time_budget": str,
    "precision": str,
    "seed": int,
}


def _config(args) -> CycleGANConfig:
    changes = {name: getattr(args, name) for name in _TRAIN_OPTIONS}
    config = CycleGANConfig().updated(**changes)
    if args.diff_augment is not None:
        config.diff_augment = None if args.diff_augment.lower() == "none" else args.diff_augment
    config.jitter, config.flip = not args.no_jitter, not args.no_flip
    config.skip_corrupt = not args.strict
    return config.validate()


def _data(args):
    from stx_tf.data import find_competition_data

    return find_competition_data(args.data_dir)


def _train(args) -> int:
    from stx_tf.cyclegan.train import train

    result = train(
        _config(args), data=_data(args), out_dir=args.out, resume=args.resume, verbose=args.verbose
    )
    print(f"epochs done: {result.epochs_done} ({result.steps_per_epoch} steps each), {result.seconds:.0f} s")
    if result.stopped:
        print(f"stopped early: {result.stopped}")
    print(f"generator: {result.generator_path}\nloss curves: {result.curves}")
    if result.samples:
        print(f"last sample grid: {result.samples[-1]}")
    return 0


def _plan(args) -> int:
    from stx_tf.cyclegan.planner import plan_run

    config = _config(args)
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
    from stx_tf.cyclegan.checkpoint import load_generator
    from stx_tf.submission import export_submission

    photos = args.photos or _data(args).photo
    report = export_submission(
        load_generator(args.generator),
        photos,
        args.out,
        batch_size=args.batch_size,
        quality=args.quality,
        fill_to=args.fill_to,
        skip_corrupt=not args.strict,
        check=not args.no_check,
        precision=args.precision,
    )
    print(report.summary())
    if report.check:
        print(report.check.summary())
    return 0


def _quickstart(args) -> int:
    from stx_tf.cyclegan.quickstart import quickstart

    print(quickstart(args.out, data=_data(args) if args.data_dir else None).summary)
    return 0


def _add_train_options(p) -> None:
    d = CycleGANConfig()
    p.add_argument("--data-dir", default=None, help="competition data folder (default: found by itself)")
    p.add_argument("--out", default="outputs/cyclegan", help="run folder (default: outputs/cyclegan)")
    p.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its latest checkpoint"
    )
    p.add_argument(
        "--generator", choices=("resnet", "unet"), help=f"generator design (default {d.generator})"
    )
    p.add_argument("--filters", type=int, help=f"generator width (default {d.filters})")
    p.add_argument("--res-blocks", type=int, help=f"ResNet blocks (default {d.res_blocks})")
    p.add_argument("--disc-filters", type=int, help=f"PatchGAN width (default {d.disc_filters})")
    p.add_argument("--norm", choices=("instance", "batch", "none"), help="normalisation (default instance)")
    p.add_argument("--image-size", type=int, help=f"training side in px (default {d.image_size})")
    p.add_argument("--batch-size", type=int, help=f"per-replica batch (default {d.batch_size})")
    p.add_argument("--epochs", type=int, help=f"epochs, each covering all photos (default {d.epochs})")
    p.add_argument(
        "--decay-epochs", type=int, help=f"final epochs of linear LR decay (default {d.decay_epochs})"
    )
    p.add_argument(
        "--learning-rate", "--lr", type=float, help=f"Adam learning rate (default {d.learning_rate})"
    )
    p.add_argument("--lambda-cycle", type=float, help=f"cycle weight λ (default {d.lambda_cycle})")
    p.add_argument(
        "--lambda-identity", type=float, help=f"identity weight relative to λ (default {d.lambda_identity})"
    )
    p.add_argument(
        "--adversarial-loss", "--loss", choices=("lsgan", "bce"), help="adversarial loss (default lsgan)"
    )
    p.add_argument("--label-smoothing", type=float, help="one-sided real-label smoothing (default 0)")
    p.add_argument("--pool-size", type=int, help=f"image pool size, 0 disables (default {d.pool_size})")
    p.add_argument(
        "--diff-augment", default=None, help="DiffAugment policy, e.g. color,translation,cutout, or none"
    )
    p.add_argument("--no-jitter", action="store_true", help="no random resize-and-crop augmentation")
    p.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    p.add_argument("--steps-per-epoch", type=int, help="cap the steps per epoch (default: all photos)")
    p.add_argument("--steps-per-execution", type=int, help="train steps per tf.function call (TPU: 8-64)")
    p.add_argument("--time-budget", default=None, help="stop training in time, e.g. 2h50m on a 3 h session")
    p.add_argument(
        "--precision", choices=("float32", "mixed_bfloat16", "auto"), help="dtype policy (default float32)"
    )
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument(
        "--strict", action="store_true", help="fail on unreadable records instead of skipping them"
    )
    p.add_argument(
        "--verbose", type=int, default=1, choices=(0, 1, 2), help="fit verbosity (2: one line per epoch)"
    )


def register(subparsers) -> None:
    """Add ``stx cyclegan train|plan|export|quickstart``."""
    cyclegan = subparsers.add_parser(
        "cyclegan", help="photo -> Monet CycleGAN: train, export images.zip, quick start"
    )
    sub = cyclegan.add_subparsers(dest="cyclegan_command", metavar="ACTION", required=True)

    p = sub.add_parser("train", help="train (or --resume) a CycleGAN; checkpoints, sample grids, loss curves")
    _add_train_options(p)
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "plan", help="measure step and export speed here; how many epochs fit a session limit (e.g. 3h)"
    )
    _add_train_options(p)
    p.add_argument("--limit", default=None, help="session limit, e.g. 3h (Kaggle TPU) or 5h (GPU/CPU)")
    p.add_argument("--elapsed", type=float, default=0.0, help="seconds of the session already used")
    p.add_argument("--reserve", default="15m", help="time kept free after the export (default 15m)")
    p.add_argument("--plot", default=None, help="write the plan as a PNG here")
    p.set_defaults(func=_plan)

    p = sub.add_parser("export", help="translate the photos and write a checked submission zip")
    p.add_argument("generator", help="a monet_generator.keras file or a training run folder")
    p.add_argument("--photos", default=None, help="photos to translate (default: the competition's)")
    p.add_argument("--data-dir", default=None, help="competition data folder (default: found by itself)")
    p.add_argument("--out", default="images.zip", help="zip to write (default: images.zip)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="photos per generator call (default: 8 on CPU, 32 on GPU/TPU)",
    )
    p.add_argument("--quality", type=int, default=95, help="JPEG quality 1-100 (default 95)")
    p.add_argument(
        "--fill-to",
        type=int,
        default=None,
        help="with fewer than 7000 photos, add flipped/cropped re-runs up to this many images",
    )
    p.add_argument(
        "--strict", action="store_true", help="fail on unreadable photo records instead of skipping"
    )
    p.add_argument("--no-check", action="store_true", help="skip the final check of the zip")
    p.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="inference precision (auto: bfloat16 on CPUs with native bf16, else float32)",
    )
    p.set_defaults(func=_export)

    p = sub.add_parser(
        "quickstart", help="train briefly on the embedded sample, export images.zip + a preview"
    )
    p.add_argument("--out", default="outputs/quickstart", help="output folder (default: outputs/quickstart)")
    p.add_argument("--data-dir", default=None, help="use this competition data instead of the sample")
    p.set_defaults(func=_quickstart)
