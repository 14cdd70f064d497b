"""``stx fast-style``: train painter presets, apply them to photos, export them, list them."""

from __future__ import annotations


def _train(args) -> int:
    from stx_tf.cli.options import config_from_args
    from stx_tf.fast_style import FastStyleConfig, train_preset

    config = config_from_args(FastStyleConfig, args)
    if args.out_dir is None:
        config = config.updated(out_dir=f"runs/fast_style/{config.name or _stem(config.style)}")
    path, result = train_preset(config, models_dir=args.models_dir, verbose=0 if args.quiet else "auto")
    print(f"preset: {path}\nsamples: {result.samples[-1] if result.samples else '-'}\nrun: {result.run_dir}")
    if result.run.stopped:
        print(f"stopped early: {result.run.stopped}")
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
    from stx_tf.cli.options import add_config_options
    from stx_tf.fast_style.config import FastStyleConfig

    p = sub.add_parser(
        "train",
        help="train a preset for one painting on a set of photos",
        description="Options left out take the defaults of stx_tf.fast_style.FastStyleConfig "
        "(Johnson et al. 2016). Continues a run found in --out-dir (default runs/fast_style/NAME).",
    )
    p.add_argument("--models-dir", help="where presets are saved (STX_MODELS_DIR or ./models)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    add_config_options(p, FastStyleConfig)
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
        "--precision", default="auto",
        help="compute type: auto (the one precision rule: bfloat16 on CPUs with native bf16), float32, bfloat16",
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
