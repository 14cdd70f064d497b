"""Decode + augment throughput from TFRecords vs a plain per-file PIL + NumPy loop (same images, one run).

Target (issue 3): ≥ 3× the baseline and ≥ 400 images/s at 256² on 2 cores.

    python benchmarks/bench_data.py [--photos DIR] [--epochs 2] [--rounds 5]

Both sides do the same work per image: decode the JPEG, scale to [-1, 1], resize to 286, take a random
256 crop, random horizontal flip, and hand over a (256, 256, 3) float32 array (ours in batches of 32).
Ours does the jitter in the cheaper equivalent order (:mod:`stx_tf.data.augment`): it decodes only the
random 229×229 window of the JPEG (``tf.io.decode_and_crop_jpeg``) and resizes that to 256; TFRecords
hold JPEGs by schema, so the augmenter skips its format dispatch (``jpeg_only``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _machine import cpu_line, load_line
from PIL import Image

SHARED_PHOTOS = Path(__file__).resolve().parents[2] / "shared/data/gan-getting-started/photo_jpg"


def baseline(files, epochs: int, rng) -> int:
    """The anchors' way: one file at a time with PIL and NumPy."""
    n = 0
    for _ in range(epochs):
        for path in files:
            img = Image.open(path).convert("RGB").resize((286, 286), Image.BILINEAR)
            arr = np.asarray(img, np.float32) / 127.5 - 1.0
            top, left = rng.integers(0, 31, 2)
            arr = arr[top : top + 256, left : left + 256]
            if rng.random() < 0.5:
                arr = arr[:, ::-1]
            np.ascontiguousarray(arr)
            n += 1
    return n


def pipeline(tfrec_dir):
    """Built once, outside the timing (building it scans the files for bad records)."""
    from stx_tf import data

    return data.make_pipeline(
        data.load_images(tfrec_dir, encoded=True),  # JPEG bytes: the augmenter decodes only the crop window
        32,
        shuffle=False,
        augment_fn=data.augmenter(256, jpeg_only=data.all_jpeg(tfrec_dir)),  # TFRecords: JPEG by schema
        drop_remainder=False,
    )


def ours(ds, epochs: int) -> int:
    n = 0
    for _ in range(epochs):
        for batch in ds:
            n += int(batch.shape[0])
    return n


def rate(fn, *args) -> float:
    start = time.perf_counter()
    n = fn(*args)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", default=str(SHARED_PHOTOS), help="folder of 256x256 JPEGs")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (ours, baseline)")
    args = parser.parse_args()
    print(cpu_line(), "|", load_line(), flush=True)

    from stx_tf import data

    files = data.list_images(args.photos)
    rates = {"ours": [], "base": []}
    with tempfile.TemporaryDirectory() as tmp:
        data.write_tfrecords(files, tmp, prefix="photo", n_shards=4)
        ds = pipeline(tmp)
        ours(ds, 1)  # warm-up: graph tracing and file cache
        baseline(files[:50], 1, np.random.default_rng(0))
        for r in range(args.rounds):  # alternating, so both sides see the same machine
            rates["ours"].append(rate(ours, ds, args.epochs))
            rates["base"].append(rate(baseline, files, args.epochs, np.random.default_rng(r)))
    med = {k: float(np.median(v)) for k, v in rates.items()}
    best = {k: max(v) for k, v in rates.items()}
    print(f"images: {len(files)} × {args.epochs} epochs per round, {args.rounds} alternating rounds")
    print(
        f"stx_tf TFRecord pipeline : {med['ours']:8.1f} images/s median, {best['ours']:8.1f} best "
        f"(rounds: {', '.join(f'{x:.0f}' for x in rates['ours'])})"
    )
    print(
        f"PIL + NumPy per-file loop: {med['base']:8.1f} images/s median, {best['base']:8.1f} best "
        f"(rounds: {', '.join(f'{x:.0f}' for x in rates['base'])})"
    )
    print(
        f"ratio ours / baseline    : {med['ours'] / med['base']:8.2f}x median, "
        f"{best['ours'] / best['base']:.2f}x best   (target ≥ 3x, and ≥ 400 images/s)"
    )


if __name__ == "__main__":
    main()
