"""``stx serve``: the web demo (upload a photo, pick a painter, download the painting)."""

from __future__ import annotations

import argparse


def _weights(value: str | None):
    """``--weights``: a file path, ``imagenet``, ``none`` (random) or unset (the default for where we run)."""
    if value is None:
        return "default"
    return None if value.lower() == "none" else value


def _serve(args) -> int:
    try:
        from stx_tf.app.ui import launch
    except ImportError as err:
        raise ValueError(f'the web demo needs Gradio: pip install "stx_tf[app]" ({err})') from None
    from stx_tf.app.limits import MB, Limits

    limits = Limits(
        max_upload_bytes=int(args.max_upload_mb * MB),
        max_pixels=int(args.max_megapixels * 1e6),
        max_output=args.max_size,
        max_steps=args.max_steps,
        time_limit=args.timeout,
        concurrency=args.concurrency,
        queue_size=args.queue_size,
    )
    launch(
        models_dir=args.models,
        host=args.host,
        port=args.port,
        share=args.share,
        limits=limits,
        backbone=args.backbone,
        weights=_weights(args.weights),
        arbitrary_model=None if str(args.arbitrary_model).lower() == "none" else args.arbitrary_model,
    )
    return 0


def register(subparsers) -> None:
    from stx_tf.app.limits import MB, Limits  # the defaults live in one place

    p = subparsers.add_parser(
        "serve",
        help="start the web demo (Gradio): photo in, painting out",
        description="Start the web demo. Painters: 'any painting - instant' (Magenta's arbitrary-style "
        "networks, when their files are found), fast-style presets and CycleGAN generators (.keras) found in "
        "--models, and 'any painting - best quality' (Gatys with an uploaded style image).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="interface (0.0.0.0 to serve the network)")
    p.add_argument("--port", type=int, default=7860, help="TCP port")
    p.add_argument(
        "--models", default=None, help="folder of presets / generators (unset: STX_MODELS_DIR or ./models)"
    )
    p.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    p.add_argument(
        "--backbone",
        choices=("squeezenet", "vgg19"),
        default=None,
        help="Gatys backbone (unset: squeezenet locally, vgg19 on Kaggle / Colab)",
    )
    p.add_argument(
        "--weights",
        default=None,
        help="Gatys backbone weights: a file, 'imagenet' or 'none' (random; unset: 'imagenet', random in smoke mode)",
    )
    p.add_argument(
        "--arbitrary-model",
        default="auto",
        help="folder of Magenta's TFLite pair or SavedModel for 'any painting - instant' ('auto': "
        "STX_ARBITRARY_MODEL, models/*arbitrary*, Kaggle inputs; 'none': not offered)",
    )
    p.add_argument(
        "--max-upload-mb",
        type=float,
        default=Limits.max_upload_bytes / MB,
        help="largest upload / URL download",
    )
    p.add_argument(
        "--max-megapixels",
        type=float,
        default=Limits.max_pixels / 1e6,
        help="largest image (decompression-bomb guard)",
    )
    p.add_argument("--max-size", type=int, default=Limits.max_output, help="largest output side in pixels")
    p.add_argument("--max-steps", type=int, default=Limits.max_steps, help="most Gatys steps per request")
    p.add_argument("--timeout", type=float, default=Limits.time_limit, help="seconds per request")
    p.add_argument("--concurrency", type=int, default=Limits.concurrency, help="paintings computed at once")
    p.add_argument("--queue-size", type=int, default=Limits.queue_size, help="requests allowed to wait")
    p.set_defaults(func=_serve)
