"""Web demo speed: click-to-result in headless Chromium vs the same painting called directly, and a
bounded loopback load test of the request queue.

Measured, in one run, on one in-process server listening on 127.0.0.1 only:

1. a fast-style preset (``--preset``, default the paper's transform net, 32/64/128 filters, 5 residual
   blocks, random weights: the speed is the same as a trained one) at ``--size`` px: ``Studio.paint`` called directly vs click on
   *Paint* until the result is shown in the page. Ratio = web overhead.
2. Gatys "any painting", ``--steps`` steps at ``--size`` px with SqueezeNet (``--weights``, default the
   shared ImageNet file when present, else random), same two ways.
3. ``--requests`` concurrent requests through ``gradio_client`` (fast preset; queue ``--queue-size``,
   ``--concurrency`` paintings at once): how many finished without an error, and the wall time.

Usage::

    python benchmarks/bench_app.py                    # 256 px, 100 Gatys steps, 20 concurrent requests
    python benchmarks/bench_app.py --requests 40 --queue-size 32   # over the queue: some are refused

Needs ``pip install ".[app,dev]"`` and Debian's ``chromium``. Not run by CI.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STX_SHARED", ROOT.parent / "shared"))
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_app import (  # noqa: E402  (the browser helpers of the tests: one way to drive the page)
    CHROMIUM,
    CHROMIUM_ARGS,
    choose_painter,
    free_port,
    jpeg_bytes,
    paint_and_wait,
    set_number,
    upload,
)

SQUEEZENET = SHARED / "weights" / "squeezenet" / "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3, help="timed fast-style paintings (after one warm-up)")
    p.add_argument("--gatys-repeats", type=int, default=2, help="timed Gatys paintings")
    p.add_argument("--requests", type=int, default=20, help="concurrent requests in the load test")
    p.add_argument("--queue-size", type=int, default=32)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--weights", default=str(SQUEEZENET) if SQUEEZENET.is_file() else "none")
    p.add_argument("--screenshot", default="/tmp/app_bench_screenshot.png")
    p.add_argument("--load-only", action="store_true", help="only the load test")
    p.add_argument(
        "--preset", default=None, help="a trained fast-style .keras preset (default: paper-size, random)"
    )
    return p.parse_args()


def inputs(folder: Path) -> tuple[Path, Path]:
    """A real photo and painting from ../shared when present, else synthetic ones."""
    photo, style = (
        SHARED / "data/content/neural-style__tubingen.jpg",
        SHARED / "data/styles/neural-style__starry_night.jpg",
    )
    if photo.is_file() and style.is_file():
        return photo, style
    (folder / "photo.jpg").write_bytes(jpeg_bytes(400, 300, seed=1))
    (folder / "style.jpg").write_bytes(jpeg_bytes(256, 256, seed=7))
    return folder / "photo.jpg", folder / "style.jpg"


def make_preset(folder: Path, preset: str | None) -> str:
    """The preset's key in ``folder``: a copy of ``preset`` or the paper-size net with random weights."""
    from stx_tf.fast_style.nets import build_transform_net
    from stx_tf.fast_style.presets import load_preset, save_preset
    from stx_tf.fast_style.storage import read_info

    if preset:
        save_preset(load_preset(preset), Path(preset).stem, read_info(preset), folder)
        return f"{Path(preset).stem}.keras"
    save_preset(build_transform_net(), "paper_size", {"style": "random weights (speed only)"}, folder)
    return "paper_size.keras"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def browser_timings(url, photo, style, preset_label, args) -> dict[str, list[float]]:
    """Seconds from the click on *Paint* to "Done" in the page; a fresh page per painting."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"fast": [], "gatys": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(600_000)

        def prepare(label):
            page.goto(url)
            page.wait_for_selector("#paint-button")
            choose_painter(page, label)
            upload(page, "photo", photo)
            set_number(page, "size", args.size)

        for i in range(args.repeats + 1):  # the first one loads and compiles the preset
            prepare(preset_label)
            seconds = timed(lambda: paint_and_wait(page, "Done", timeout=600_000))
            if i:
                out["fast"].append(seconds)
        shot = Path(args.screenshot)
        page.screenshot(path=str(shot.with_name(f"{shot.stem}_fast{shot.suffix}")), full_page=True)
        for _ in range(args.gatys_repeats):
            prepare("Any painting — best quality (slower)")
            upload(page, "style", style)
            set_number(page, "steps", args.steps)
            out["gatys"].append(timed(lambda: paint_and_wait(page, "Done", timeout=600_000)))
        page.screenshot(path=args.screenshot, full_page=True)
        browser.close()
    return out


def load_test(url, photo, preset, args) -> tuple[int, list[str], float]:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, analytics_enabled=False, download_files=False)

    def one(_):
        try:
            result = client.predict(
                handle_file(str(photo)), "", preset, None, 10, 1.0, args.size, False, api_name="/paint"
            )
            status = result[-1]
            return "ok" if str(status).startswith("Done") else f"message: {status}"
        except Exception as err:  # queue full, connection refused ...
            return f"error: {type(err).__name__}: {err}"

    start = time.perf_counter()
    with ThreadPoolExecutor(args.requests) as pool:
        results = list(pool.map(one, range(args.requests)))
    return results.count("ok"), [r for r in results if r != "ok"], time.perf_counter() - start


def main() -> int:
    args = parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from stx_tf.app.limits import Limits
    from stx_tf.app.studio import PaintRequest, Studio
    from stx_tf.app.ui import launch

    work = Path(tempfile.mkdtemp(prefix="bench-app-"))
    photo, style = inputs(work)
    preset = make_preset(work / "models", args.preset)
    weights = None if args.weights.lower() == "none" else args.weights
    limits = Limits(queue_size=args.queue_size, concurrency=args.concurrency, max_steps=max(500, args.steps))
    studio = Studio(work / "models", limits=limits, backbone="squeezenet", weights=weights)
    label = studio.painter(preset).label
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; weights: {weights or 'random'}")

    fast = PaintRequest(photo=photo, painter=preset, size=args.size)
    studio.paint(fast)  # warm-up: load + compile
    if not args.load_only:
        direct_fast = [timed(lambda: studio.paint(fast)) for _ in range(args.repeats)]
        gatys = PaintRequest(photo=photo, painter="gatys", style=style, size=args.size, steps=args.steps)
        cold = timed(lambda: studio.paint(PaintRequest(**{**vars(gatys), "steps": 10})))
        print(f"first Gatys request (10 steps, builds {studio.backbone} once per process): {cold:.1f} s")
        direct_gatys = [timed(lambda: studio.paint(gatys)) for _ in range(args.gatys_repeats)]

    demo = launch(studio=studio, host="127.0.0.1", port=free_port(), block=False, quiet=True, warm_up=False)
    try:
        web = None if args.load_only else browser_timings(demo.local_url, photo, style, label, args)
        ok, problems, wall = load_test(demo.local_url, photo, preset, args)
        after = load_test(demo.local_url, photo, preset, argparse.Namespace(**{**vars(args), "requests": 1}))
    finally:
        demo.close()
        studio.close()
    report_load(args, ok, problems, wall, after[0])
    if web is not None:
        report_timings(args, direct_fast, direct_gatys, web)
    return 0


def report_load(args, ok: int, problems: list[str], wall: float, after_ok: int) -> None:
    print(
        f"load test: {args.requests} concurrent requests (queue {args.queue_size}, concurrency "
        f"{args.concurrency}): {ok} ok, {len(problems)} not, {wall:.1f} s wall, "
        f"{wall / max(ok, 1) * 1000:.0f} ms per painting; one more request afterwards: "
        f"{'ok' if after_ok else 'FAILED'}"
    )
    for problem in sorted(set(problems))[:5]:
        print(f"  {problems.count(problem)} x {problem[:200]}")


def report_timings(args, direct_fast: list[float], direct_gatys: list[float], web: dict) -> None:
    web_fast = statistics.median(web["fast"])
    print(f"\nfast-style preset, {args.size} px (median of {args.repeats}):")
    print(f"  direct Studio.paint  {statistics.median(direct_fast) * 1000:8.0f} ms")
    print(
        f"  browser click->shown {web_fast * 1000:8.0f} ms   ratio {web_fast / statistics.median(direct_fast):.2f}"
    )
    gatys, web_gatys = statistics.median(direct_gatys), statistics.median(web["gatys"])
    print(
        f"Gatys any painting, {args.steps} steps at {args.size} px (SqueezeNet, median of {args.gatys_repeats}):"
    )
    print(f"  direct Studio.paint  {gatys:8.1f} s")
    print(f"  browser click->shown {web_gatys:8.1f} s    ratio {web_gatys / gatys:.2f}")
    print(f"screenshots: {args.screenshot} (Gatys), *_fast.png (fast style)")


if __name__ == "__main__":
    sys.exit(main())
