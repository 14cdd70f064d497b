"""``stx stylize CONTENT STYLE [STYLE ...] -o OUT.png``: Gatys neural style transfer, or ``--method instant``
(Magenta's arbitrary-style networks, :mod:`stx_tf.arbitrary`)."""

from __future__ import annotations

#: CLI option -> StylizeConfig field (only options given on the command line override the config).
_FIELDS = {
    "backbone": "backbone",
    "weights": "weights",
    "max_dim": "max_dim",
    "steps_per_epoch": "steps_per_epoch",
    "epochs": "epochs",
    "optimizer": "optimizer",
    "learning_rate": "learning_rate",
    "schedule": "schedule",
    "beta1": "beta_1",
    "beta2": "beta_2",
    "content_weight": "content_weight",
    "style_weight": "style_weight",
    "tv_weight": "tv_weight",
    "style_strength": "style_strength",
    "init": "init",
    "model": "instant_model",
    "multiscale": "multiscale",
    "style_scale": "style_scale",
    "seed": "seed",
}


def _instant(args) -> int:
    import time

    from stx_tf import arbitrary
    from stx_tf.data.images import save_image

    start = time.perf_counter()
    image = arbitrary.paint(
        args.content,
        args.style,
        1.0 if args.strength is None else args.strength,
        weights=args.style_weights,
        preserve_colors=args.preserve_color,
        paint_size=arbitrary.PAINT_SIZE if args.paint_size is None else args.paint_size or None,
        model=args.model,
    )
    path = save_image(image, args.out)
    seconds = time.perf_counter() - start
    print(f"{path} ({image.shape[1]}x{image.shape[0]}, instant, {seconds:.2f} s)")
    return 0


def _stylize(args) -> int:
    if args.method == "instant":
        return _instant(args)
    from stx_tf import nst

    if args.strength is not None and args.style_strength is None:
        args.style_strength = args.strength
    overrides = {
        field: getattr(args, opt) for opt, field in _FIELDS.items() if getattr(args, opt) is not None
    }
    if str(overrides.get("weights", "")).lower() in ("none", "random"):
        overrides["weights"] = None  # random weights: smoke tests only
    if args.fast:
        overrides = {**nst.FAST_SCHEDULE, **overrides}
    if args.preserve_color:
        overrides["preserve_color"] = True
    callbacks = [nst.FrameSaver(folder=args.frames, gif=args.gif)] if (args.frames or args.gif) else []
    result = nst.stylize(
        args.content,
        args.style,
        nst.StylizeConfig(**overrides),
        style_weights=args.style_weights,
        callbacks=callbacks,
        verbose=0 if args.quiet else 1,
    )
    path = result.save(args.out)
    print(
        f"{path} ({result.image.shape[1]}x{result.image.shape[0]}, {result.steps} steps, "
        f"loss {result.final_loss:.4g}, {result.seconds:.1f} s)"
    )
    if args.gif:
        print(args.gif)
    return 0


def register(subparsers) -> None:
    """Add ``stx stylize``."""
    p = subparsers.add_parser(
        "stylize",
        help="paint a photo in the style of one or more paintings (Gatys, or --method instant)",
        description="Gatys neural style transfer (default; options not given keep the defaults of "
        "stx_tf.nst.StylizeConfig: VGG19, Adam lr 0.02, 10 epochs x 100 steps, 512 px), or --method instant: "
        "one pass of Magenta's arbitrary-style networks (stx_tf.arbitrary; needs the model files, see --model).",
    )
    p.add_argument("content", help="the photo (any image file)")
    p.add_argument("style", nargs="+", help="one or more style images")
    p.add_argument("-o", "--out", required=True, help="result image (.png or .jpg)")
    p.add_argument(
        "--method",
        choices=("gatys", "instant"),
        default="gatys",
        help="gatys: optimise the pixels (slow, best quality); instant: one pass of Magenta's networks",
    )
    p.add_argument(
        "--strength", type=float, default=None, help="0 = the photo's own style .. 1 = the painting's (1)"
    )
    p.add_argument(
        "--model",
        default=None,
        help="instant / --init instant: folder of Magenta's TFLite pair or SavedModel (default: "
        "STX_ARBITRARY_MODEL, models/*arbitrary*, Kaggle inputs, or a TF Hub download)",
    )
    p.add_argument(
        "--paint-size",
        type=int,
        default=None,
        help="instant: longer side the network paints at, then resized to the photo's size (384; 0 = "
        "the photo's size: sharper, slower; smaller = bigger strokes)",
    )
    p.add_argument(
        "--style-weights", type=float, nargs="+", default=None, help="relative weight of each style"
    )
    p.add_argument(
        "--backbone", choices=("vgg19", "squeezenet"), default=None, help="feature network (vgg19)"
    )
    p.add_argument(
        "--weights",
        default=None,
        help="backbone weights: a local .h5 file, 'imagenet' (download; or env STX_VGG19_WEIGHTS / "
        "STX_SQUEEZENET_WEIGHTS), or 'none' (random, for tests); default imagenet",
    )
    p.add_argument("--max-dim", type=int, default=None, help="longer side of the result in px (512)")
    p.add_argument("--steps-per-epoch", type=int, default=None, help="optimisation steps per epoch (100)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (10); one frame per epoch")
    p.add_argument("--optimizer", choices=("adam", "lbfgs"), default=None, help="adam (default) or lbfgs")
    p.add_argument("--learning-rate", type=float, default=None, help="Adam learning rate (0.02)")
    p.add_argument(
        "--schedule",
        choices=("constant", "cosine"),
        default=None,
        help="Adam learning rate over the run: constant (default) or cosine decay to a tenth",
    )
    p.add_argument("--beta1", type=float, default=None, help="Adam β1 (0.99)")
    p.add_argument("--beta2", type=float, default=None, help="Adam β2 (0.999)")
    p.add_argument(
        "--fast",
        action="store_true",
        help="the fast schedule (lr 0.04, cosine, β1 0.95, β2 0.99, 10 x 80 steps; other options override)",
    )
    p.add_argument(
        "--content-weight", type=float, default=None, help="λ = α/β, e.g. 1e-3 (paper: 1e-5..1e-2)"
    )
    p.add_argument("--style-weight", type=float, default=None, help="β, overall loss scale (1)")
    p.add_argument("--tv-weight", type=float, default=None, help="total-variation weight")
    p.add_argument(
        "--style-strength", type=float, default=None, help="Gatys: same as --strength (>1 exaggerates)"
    )
    p.add_argument("--style-scale", type=float, default=None, help="style image size relative to --size (1)")
    p.add_argument(
        "--preserve-color", action="store_true", help="luminance-only transfer: keep the photo's colours"
    )
    p.add_argument(
        "--init",
        choices=("content", "noise", "style", "instant"),
        default=None,
        help="initial image (content); instant: the instant painting (see --model)",
    )
    p.add_argument("--multiscale", type=int, default=None, help="number of coarse-to-fine scales (1 = off)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--frames", default=None, help="folder for one PNG per epoch")
    p.add_argument("--gif", default=None, help="animated GIF of the epochs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_stylize)
