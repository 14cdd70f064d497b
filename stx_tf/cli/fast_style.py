"""``stx fast-style``: train painter presets, apply them to photos, export them, list them."""

from __future__ import annotations

#: ``stx fast-style train`` options mapping one-to-one onto FastStyleConfig fields (None = config default).
_CONFIG_OPTIONS = (
    "style",
    "photos",
    "name",
    "backbone",
    "image_size",
    "style_size",
    "steps_per_epoch",
    "epochs",
    "batch_size",
    "learning_rate",
    "content_weight",
    "style_weight",
    "tv_weight",
    "adversarial_weight",
    "paintings",
    "residual_blocks",
    "out_dir",
    "checkpoint_every",
    "steps_per_execution",
    "seed",
)


def _filters(text: str) -> tuple[int, int, int]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise ValueError(f"--filters takes three comma-separated widths like 32,64,128, got {text!r}")
    return values


def _train(args) -> int:
    from stx_tf.fast_style import FastStyleConfig, train_preset

    config = FastStyleConfig()
    for key in _CONFIG_OPTIONS:
        value = getattr(args, key)
        if value is not None:
            setattr(config, key, value)
    if args.weights is not None:
        config.weights = None if args.weights == "random" else args.weights
    if args.filters:
        config.filters = _filters(args.filters)
    config.resume = args.resume
    if args.out_dir is None:
        config.out_dir = f"runs/fast_style/{config.name or _stem(config.style)}"
    path, result = train_preset(config, models_dir=args.models_dir, verbose=1 if args.progress else 2)
    print(f"preset: {path}\nsamples: {result.samples[-1] if result.samples else '-'}\nrun: {result.run_dir}")
    return 0


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).stem


def _apply(args) -> int:
    from stx_tf.fast_style import apply_to_files

    written = apply_to_files(
        args.model,
        args.images,
        args.out,
        batch_size=args.batch_size,
        max_dim=args.max_dim or None,
        precision=args.precision,
        fmt=args.format,
    )
    print(f"{len(written)} image(s) written to {args.out}")
    return 0


def _export(args) -> int:
    from stx_tf.fast_style import export

    print(export(args.model, args.out, format=args.format))
    return 0


def _list(args) -> int:
    from stx_tf.fast_style import list_presets
    from stx_tf.settings import models_dir

    presets = list_presets(args.models_dir)
    if not presets:
        print(f"no presets in {args.models_dir or models_dir()}")
    for preset in presets:
        print(preset.describe())
    return 0


def _add_train(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a preset for one painting on a set of photos",
        description="Options left out take the defaults of stx_tf.fast_style.FastStyleConfig "
        "(Johnson et al. 2016).",
    )
    p.add_argument("--style", required=True, help="the painting (image file)")
    p.add_argument("--photos", required=True, help="folder / zip / glob / folder of .tfrec files of photos")
    p.add_argument("--name", help="preset name (default: the painting's file stem)")
    p.add_argument("--backbone", choices=("vgg19", "squeezenet"), help="loss network (vgg19)")
    p.add_argument("--weights", help="backbone weights file, 'imagenet' (default) or 'random'")
    p.add_argument("--size", dest="image_size", type=int, help="training crop size (256)")
    p.add_argument("--style-size", type=int, help="longer side of the painting for its Grams (512)")
    p.add_argument("--steps", dest="steps_per_epoch", type=int, help="steps per epoch (photos / batch)")
    p.add_argument("--epochs", type=int, help="epochs (2)")
    p.add_argument("--batch-size", type=int, help="per-replica batch size (4)")
    p.add_argument("--lr", dest="learning_rate", type=float, help="Adam learning rate (1e-3)")
    p.add_argument("--content-weight", type=float, help="content loss weight (1)")
    p.add_argument("--style-weight", type=float, help="style loss weight (3)")
    p.add_argument("--tv-weight", type=float, help="total-variation weight (1)")
    p.add_argument("--adversarial-weight", type=float, help="beta of the painting discriminator (0: off)")
    p.add_argument("--paintings", help="paintings of the painter for the discriminator (e.g. monet_tfrec)")
    p.add_argument("--filters", help="transform net widths, e.g. 32,64,128 (paper) or 16,32,64 (fast)")
    p.add_argument("--residual-blocks", type=int, help="residual blocks (5)")
    p.add_argument("--out", dest="out_dir", help="run folder (default runs/fast_style/NAME)")
    p.add_argument("--checkpoint-every", type=int, help="steps between mid-epoch backups (epoch ends)")
    p.add_argument("--steps-per-execution", type=int, help="train steps per graph call (1)")
    p.add_argument("--seed", type=int, help="random seed (0)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its backup")
    p.add_argument("--models-dir", help="where presets are saved (STX_MODELS_DIR or ./models)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="one line per epoch")
    p.set_defaults(func=_train)


def register(subparsers) -> None:
    """Add ``stx fast-style train | apply | export | list``."""
    parser = subparsers.add_parser("fast-style", help="fast (feed-forward) style transfer presets")
    sub = parser.add_subparsers(dest="fast_style_command", metavar="ACTION", required=True)
    _add_train(sub)

    p = sub.add_parser("apply", help="stylise image files / folders with a preset")
    p.add_argument("model", help="preset name or .keras file")
    p.add_argument("images", nargs="+", help="image files or folders")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--batch-size", type=int, default=4, help="images per pass (4)")
    p.add_argument("--max-dim", type=int, default=1024, help="downscale longer sides above this (0: never)")
    p.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="compute type (auto: bfloat16 on CPUs with native bfloat16, else float32)",
    )
    p.add_argument("--format", choices=("jpg", "png"), default="jpg", help="output format")
    p.set_defaults(func=_apply)

    p = sub.add_parser("export", help="export a preset as a SavedModel or TFLite file")
    p.add_argument("model", help="preset name or .keras file")
    p.add_argument("--format", choices=("savedmodel", "tflite"), default="savedmodel")
    p.add_argument("-o", "--out", required=True, help="output folder (SavedModel) or file (.tflite)")
    p.set_defaults(func=_export)

    p = sub.add_parser("list", help="list the presets in the models folder")
    p.add_argument("--models-dir", help="folder to list (STX_MODELS_DIR or ./models)")
    p.set_defaults(func=_list)
