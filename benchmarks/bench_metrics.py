"""Feature extraction speed and peak memory for scoring a full submission (7,038 images).

Ours: :func:`stx_tf.metrics.extract_features` - images stream through ``tf.data`` in batches.
Baseline, the way Kaggle's / TTUR's scorer does it: decode every image with PIL into one in-memory array,
then run the network over it in batches of 50. Each run happens in its own process so that
``resource.getrusage`` reports that run's peak memory. The baseline runs on at most ``--baseline-n``
images (its memory grows with N; the 7,038-image figure is extrapolated).

Images are the real photos in ``../shared`` repeated up to ``--n`` (nothing is copied).

    python benchmarks/bench_metrics.py                       # 7,038 images, InceptionV3 + SqueezeNet
    python benchmarks/bench_metrics.py --n 512 --extractors squeezenet
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's stx_tf, not an installed copy

SHARED = Path(os.environ.get("STX_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PHOTOS = SHARED / "data" / "gan-getting-started" / "photo_jpg"
SQUEEZENET = SHARED / "weights" / "squeezenet" / "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5"


def _files(n: int) -> list[str]:
    photos = sorted(str(p) for p in PHOTOS.glob("*.jpg"))
    if not photos:
        sys.exit(f"no photos in {PHOTOS}")
    return [photos[i % len(photos)] for i in range(n)]


def _extractor(name: str):
    from stx_tf.metrics import inception_v3, squeezenet_proxy

    # random Inception weights: same speed and memory as ImageNet weights (those cannot be downloaded here)
    return inception_v3(weights=None) if name == "inception" else squeezenet_proxy(SQUEEZENET)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _run_ours(name: str, n: int, batch: int) -> dict:
    from stx_tf.metrics import extract_features

    ext = _extractor(name)
    ext(__import__("numpy").zeros((batch, 256, 256, 3), "float32"))  # trace + warm up outside the timing
    start = time.perf_counter()
    fs = extract_features(_files(n), ext, batch_size=batch, progress=False)
    seconds = time.perf_counter() - start
    return {"n": len(fs), "seconds": seconds, "images_per_s": len(fs) / seconds, "peak_mib": _peak_mib()}


def _run_baseline(name: str, n: int, batch: int = 50) -> dict:
    import numpy as np
    from PIL import Image

    ext = _extractor(name)
    ext(np.zeros((batch, 256, 256, 3), "float32"))
    start = time.perf_counter()
    images = np.array(
        [np.asarray(Image.open(f).convert("RGB"), np.float32) for f in _files(n)]
    )  # all in memory
    feats = np.concatenate([ext(images[i : i + batch] / 127.5 - 1.0) for i in range(0, len(images), batch)])
    seconds = time.perf_counter() - start
    return {
        "n": len(feats),
        "seconds": seconds,
        "images_per_s": len(feats) / seconds,
        "peak_mib": _peak_mib(),
    }


def _child(args) -> None:
    run = _run_ours if args.child == "ours" else _run_baseline
    print("RESULT " + json.dumps(run(args.extractor, args.n, args.batch)))


def _spawn(kind: str, extractor: str, n: int, batch: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--extractor",
        extractor,
        "--n",
        str(n),
        "--batch",
        str(batch),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        sys.exit(f"{kind}/{extractor} failed:\n{out.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, default=7038, help="images to score (default: 7,038, a full submission)"
    )
    parser.add_argument("--baseline-n", type=int, default=512, help="images for the all-in-memory baseline")
    parser.add_argument("--extractors", default="inception,squeezenet")
    parser.add_argument("--batch", type=int, default=32, help="our batch size (default 32)")
    parser.add_argument("--child", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--extractor", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    print(f"{'extractor':<11} {'run':<22} {'N':>6} {'img/s':>8} {'peak MiB':>9} {'MiB at 7,038':>13}")
    for name in args.extractors.split(","):
        ours = _spawn("ours", name, args.n, args.batch)
        base = _spawn("baseline", name, min(args.n, args.baseline_n), 50)
        pixels_mib = 7038 * 256 * 256 * 3 * 4 / 2**20  # the baseline's float32 image array at 7,038
        extrapolated = base["peak_mib"] + pixels_mib * (1 - base["n"] / 7038)
        print(
            f"{name:<11} {'ours (tf.data stream)':<22} {ours['n']:>6} {ours['images_per_s']:>8.1f} "
            f"{ours['peak_mib']:>9.0f} {'(bounded)':>13}"
        )
        print(
            f"{name:<11} {'baseline (all in RAM)':<22} {base['n']:>6} {base['images_per_s']:>8.1f} "
            f"{base['peak_mib']:>9.0f} {extrapolated:>13.0f}"
        )
        print(
            f"{name:<11} ratio ours/baseline: speed x{ours['images_per_s'] / base['images_per_s']:.2f}, "
            f"peak memory at 7,038 x{ours['peak_mib'] / extrapolated:.2f}"
        )


if __name__ == "__main__":
    main()
