"""Submission export speed and memory: ``stx_tf.submission.export_submission`` against the tutorial's way.

The baseline is the procedure of the Kaggle / TensorFlow CycleGAN tutorials: one generator call per photo
(``generator(img, training=False)``), ``PIL.Image.save`` at quality 75 into a folder, then
``shutil.make_archive``. Ours streams batches through the same generator (same weights), encodes JPEGs
and writes them straight into the zip. Both run in this process on the same photos, alternating, after a
warm-up; the ratio is images/s ours / tutorial, at the tutorial's quality 75, for float32 and for the
default precision (``"auto"``: bfloat16 on CPUs with native bf16).

Then the full job: 7,038 photos (the competition's count; made by repeating the photos in ``../shared``
under unique names, written as competition-format TFRecords) exported with the U-Net generator in a
child process, whose wall time and peak memory (max RSS) are reported.

    python benchmarks/bench_export.py                     # ratio on 160 photos + the full 7,038 export
    python benchmarks/bench_export.py --subset 32 --no-full
    python benchmarks/bench_export.py --generator resnet --subset 80 --no-full   # the paper's ResNet-9
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _machine import cpu_line, load_line

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "gan-getting-started"
N_COMPETITION = 7038


def photo_files() -> list[Path]:
    folder = SHARED / "photo_jpg"
    if not folder.is_dir():
        sys.exit(f"{folder} not found: this benchmark needs the real photos in ../shared")
    return sorted(folder.glob("*.jpg"))


def write_photo_records(out_dir: Path, n: int, per_shard: int = 352) -> Path:
    """``n`` photos as competition-format shards (photo00-352.tfrec ...), repeating the real ones."""
    import tensorflow as tf

    from stx_tf.data.tfrecords import make_example, shard_name

    files = photo_files()
    out_dir.mkdir(parents=True, exist_ok=True)
    for shard, start in enumerate(range(0, n, per_shard)):
        count = min(per_shard, n - start)
        with tf.io.TFRecordWriter(str(out_dir / shard_name("photo", shard, count))) as writer:
            for i in range(start, start + count):
                path = files[i % len(files)]
                writer.write(make_example(path.read_bytes(), f"{path.stem}_{i // len(files)}", "photo"))
    return out_dir


def tutorial_export(generator, photos, work: Path) -> float:
    """The tutorials' export: per-photo eager call, PIL save q75 to a folder, make_archive."""
    import PIL.Image

    from stx_tf.data import load_images

    start = time.perf_counter()
    folder = work / "images"
    folder.mkdir(parents=True, exist_ok=True)
    i = 1
    for img in load_images(photos).batch(1):
        prediction = generator(img, training=False)[0].numpy()
        prediction = (prediction * 127.5 + 127.5).astype(np.uint8)
        im = PIL.Image.fromarray(prediction)
        im.save(folder / f"{i}.jpg")
        i += 1
    shutil.make_archive(str(work / "images"), "zip", str(folder))
    elapsed = time.perf_counter() - start
    shutil.rmtree(folder)
    return (i - 1) / elapsed


def our_export(generator, photos, work: Path, precision: str, n: int) -> float:
    from stx_tf.submission import export_submission

    report = export_submission(
        generator,
        photos,
        work / "ours.zip",
        quality=75,  # the tutorial's PIL default; batch: the library's default
        min_count=n,
        max_count=n,
        progress=False,
        check=False,
        precision=precision,
    )
    return report.images_per_second


FULL_EXPORT = """
import json, sys, time
from stx_tf.cyclegan import nets
from stx_tf.submission import export_submission
start = time.perf_counter()
generator = getattr(nets, sys.argv[4] + "_generator")()
report = export_submission(generator, sys.argv[1], sys.argv[2], batch_size=int(sys.argv[3]) or None, progress=False)
# VmHWM: this program's peak resident memory. (getrusage's ru_maxrss would also count the parent's pages
# from before exec: Linux keeps the maximum across exec.)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"seconds": time.perf_counter() - start, "written": report.written, "ok": report.check.ok,
                  "max_rss_mb": hwm / 1024,
                  "summary": report.summary()}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=160, help="photos for the ratio")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=0,
        help="batch of the full export (default: the library's, 8 on CPU)",
    )
    parser.add_argument("--no-full", action="store_true", help="skip the full 7,038-photo export")
    parser.add_argument("--generator", choices=("unet", "resnet"), default="unet",
                        help="the tutorials' U-Net (default) or the paper's ResNet-9, on both sides")
    args = parser.parse_args(argv)
    print(cpu_line(), "|", load_line(), flush=True)

    import keras

    from stx_tf.cyclegan import nets
    from stx_tf.precision import resolve as resolve_precision

    keras.utils.set_random_seed(0)
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        subset = write_photo_records(work / "subset", args.subset, per_shard=args.subset)
        generator = getattr(nets, f"{args.generator}_generator")()
        auto = resolve_precision("auto")
        print(f"warm-up; default precision here: {auto}", flush=True)
        tutorial_export(generator, write_photo_records(work / "warm", 2, per_shard=2), work / "t0")
        for precision in ("float32", auto):
            our_export(generator, subset, work, precision, args.subset)
        rates = {"tutorial": [], "ours_float32": [], f"ours_{auto}": []}
        for r in range(args.rounds):
            rates["tutorial"].append(tutorial_export(generator, subset, work / f"t{r + 1}"))
            rates["ours_float32"].append(our_export(generator, subset, work, "float32", args.subset))
            rates[f"ours_{auto}"].append(our_export(generator, subset, work, auto, args.subset))
            print("round", r + 1, {k: round(v[-1], 2) for k, v in rates.items()}, flush=True)
        best = {k: max(v) for k, v in rates.items()}
        print(
            f"\nexport images/s on {args.subset} photos, {args.generator} generator, JPEG q75 "
            f"(best of {args.rounds}):"
        )
        for name, value in best.items():
            print(f"  {name:16s} {value:6.2f} images/s   ratio {value / best['tutorial']:.2f}x")

        if not args.no_full:
            photos = write_photo_records(work / "photo_tfrec", N_COMPETITION)
            out = work / "images.zip"
            print(f"\nfull export: {N_COMPETITION} photos -> {out} (child process) ...", flush=True)
            proc = subprocess.run(
                [sys.executable, "-c", FULL_EXPORT, str(photos), str(out), str(args.batch_size), args.generator],
                capture_output=True,
                text=True,
            )
            if proc.returncode:
                sys.exit(proc.stderr[-3000:])
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"  {result['summary']}")
            print(
                f"  wall {result['seconds']:.0f} s ({result['seconds'] / 60:.1f} min; limit 6 min), "
                f"peak RSS {result['max_rss_mb']:.0f} MiB (limit 2048), check ok: {result['ok']}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
