"""Same-budget recipe study: which CycleGAN recipe paints the best Monets for the same CPU time?

Each recipe trains on the shared competition data (800 photos, 300 Monet paintings from ``../shared``) for
the same budget at the same sizes (128 px, narrow nets), then paints a fixed photo set at 256 px through the
real exporter and is scored with the competition's network (FID, MiFID, KID against ``monet_jpg``, the real
set of ``fid_reference/reference.json``).

The budget is the wall-clock time of the 2 cores when they are free, counted as this process's CPU time
(``--budget 15m`` = 30 CPU-minutes): on a machine shared with other work a wall-clock budget would give the
recipes unequal compute, a CPU-time budget does not.

Recipes (``--recipes``):

* ``tutorial`` - the TensorFlow tutorial's recipe: U-Net, BCE, no image pool, constant learning rate, no
  augmentation, the ``zip`` epoch of 300 photos;
* ``stx`` - stx_tf's defaults: ResNet, LSGAN, pool 50, linear decay, every photo per epoch, DiffAugment;
* ``stx-no-diffaugment``, ``stx-no-pool``, ``stx-no-identity``, ``stx-unet`` - ablations of ``stx`` (the
  last with the tutorial's U-Net generator);
* ``<recipe>@seed1`` - a second seed of any recipe (the seed-to-seed spread).

Each recipe runs in its own process (``--one RECIPE``) and leaves ``RESULTS/<recipe>/result.json``, so the
study can be continued after an interruption; ``--table`` writes ``quality.md``, ``quality.json`` and
``quality_grid.png`` (the same photos painted by every recipe). The machine's load during each run is
recorded; the wall-clock cap (8x the budget) only stops a run starved of CPU by other work.

    python benchmarks/bench_quality.py --budget 15m --out /tmp/quality            # every recipe, then the table
    python benchmarks/bench_quality.py --one stx@seed1 --budget 15m --out /tmp/quality
    python benchmarks/bench_quality.py --table --out /tmp/quality
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _machine import cpu_line

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data" / "gan-getting-started"
FID_WEIGHTS = SHARED / "weights" / "inception_fid" / "inception-2015-12-05_torchscript.pt"

#: The sizes every recipe shares (128 px, narrow nets: a run of a few epochs fits the budget on 2 cores).
SIZES = {"image_size": 128, "filters": 16, "disc_filters": 32, "res_blocks": 6, "batch_size": 1}

RECIPES = {
    "tutorial": {
        "generator": "unet", "adversarial_loss": "bce", "pool_size": 0, "decay_epochs": 0, "jitter": False,
        "flip": False, "diff_augment": None, "steps_per_epoch": 300,
    },
    "stx": {"generator": "resnet", "adversarial_loss": "lsgan", "pool_size": 50, "diff_augment": "color,translation,cutout"},
}
RECIPES["stx-no-diffaugment"] = {**RECIPES["stx"], "diff_augment": None}
RECIPES["stx-no-pool"] = {**RECIPES["stx"], "pool_size": 0}
RECIPES["stx-no-identity"] = {**RECIPES["stx"], "lambda_identity": 0.0}
RECIPES["stx-unet"] = {**RECIPES["stx"], "generator": "unet"}
DEFAULT_RECIPES = ("tutorial", "stx", "stx-no-diffaugment", "tutorial@seed1", "stx-unet", "stx-no-pool",
                   "stx-no-identity")


def recipe_config(name: str, budget: str, out: Path):
    """The CycleGANConfig of a recipe name (``base@seedN`` for another seed)."""
    from stx_tf.cyclegan.config import CycleGANConfig

    base, _, seed = name.partition("@seed")
    if base not in RECIPES:
        raise SystemExit(f"unknown recipe {name!r}; choose from {', '.join(RECIPES)} (optionally @seedN)")
    values = {**SIZES, "epochs": 1000, "decay_epochs": 500, **RECIPES[base]}
    return CycleGANConfig(**values, seed=int(seed or 0), precision="float32", time_budget=budget,
                          out_dir=str(out / name / "run"), samples=2, keep_checkpoints=1)


class CPUBudget:
    """A Keras callback that stops training once this process has used ``seconds`` of CPU time."""

    def __new__(cls, seconds: float):
        import keras

        class _Budget(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.start = time.process_time()

            def on_train_batch_end(self, batch, logs=None):
                if time.process_time() - self.start >= seconds:
                    self.model.stop_training = True

        return _Budget()


def run_one(name: str, budget: str, out: Path, photos: int) -> dict:
    """Train one recipe for the budget, export ``photos`` paintings at 256 px, score them; write result.json."""
    from stx_tf.configs import parse_duration
    from stx_tf.cyclegan.planner import plan_run
    from stx_tf.cyclegan.train import load_generator, train
    from stx_tf.metrics import score
    from stx_tf.submission import export_submission

    data = (str(DATA / "photo_jpg"), str(DATA / "monet_jpg"))
    config = recipe_config(name, budget, out)
    # Lay the learning-rate schedule out over the epochs the budget holds (the decay ends with the budget):
    # the planner measures this recipe's step time here, now, and the CPU share it got meanwhile.
    cpu_budget = 2 * parse_duration(budget)  # the 2 cores, free, for the budget
    wall0, cpu0 = time.monotonic(), time.process_time()
    plan = plan_run(config, data, export_images=1)
    cpu_per_wall = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    epochs = max(1, int(cpu_budget // (plan.epoch_seconds * cpu_per_wall)))
    decay = 0 if not config.decay_epochs else max(0, epochs // 2)
    config = config.updated(epochs=epochs, decay_epochs=decay, time_budget=8 * parse_duration(budget))
    load = os.getloadavg()[0]
    start, cpu_start = time.monotonic(), time.process_time()
    result = train(config, data=data, verbose=2, callbacks=[CPUBudget(cpu_budget)])
    seconds, cpu_seconds = time.monotonic() - start, time.process_time() - cpu_start
    fixed = sorted(Path(data[0]).glob("*.jpg"))[:photos]
    zip_path = out / name / "images.zip"
    export_submission(load_generator(result.out_dir, "last"), [str(p) for p in fixed], zip_path,
                      min_count=len(fixed), max_count=len(fixed), check=True, progress=False, precision="float32")
    report = score(zip_path, data[1], extractor="fid_inception", weights=str(FID_WEIGHTS), cache=out / "cache",
                   out_dir=out / name / "score", progress=False, kid_subsets=50)
    row = {
        "recipe": name, "config": config.to_dict(), "epochs": result.epochs_done, "steps_per_epoch": result.steps_per_epoch,
        "train_seconds": round(seconds, 1), "train_cpu_seconds": round(cpu_seconds, 1), "cpu_budget": cpu_budget, "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
        "fid": report.fid, "mifid": report.mifid, "kid": report.kid, "kid_std": report.kid_std,
        "mem_distance": report.mem_distance, "extractor": report.extractor, "images": report.n_gen, "cpu": cpu_line(),
    }
    (out / name / "result.json").write_text(json.dumps(row, indent=1))
    print(json.dumps({k: v for k, v in row.items() if k != "config"}, indent=1))
    return row


def table(out: Path, recipes) -> None:
    """quality.md / quality.json and the side-by-side grid of the same photos painted by every recipe."""
    import numpy as np

    from stx_tf.cyclegan.train import load_generator
    from stx_tf.data import load_images
    from stx_tf.viz import rows_grid

    rows = [json.loads((out / r / "result.json").read_text()) for r in recipes if (out / r / "result.json").is_file()]
    if not rows:
        raise SystemExit(f"no results under {out}")
    (out / "quality.json").write_text(json.dumps(rows, indent=1))
    lines = [
        f"Machine: {rows[0]['cpu']}. Budget per recipe: {rows[0]['cpu_budget']:.0f} CPU-seconds of training (the 2 cores for half that) at "
        f"{SIZES['image_size']} px, then {rows[0]['images']} photos painted at 256 px and scored with "
        f"{rows[0]['extractor']} against monet_jpg.",
        "",
        "| recipe | epochs × steps | train s (CPU s) | load (1 min) | FID | MiFID | KID ×1000 | memorisation d |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: r["mifid"]):
        lines.append(
            f"| {r['recipe']} | {r['epochs']} × {r['steps_per_epoch']} | {r['train_seconds']:.0f} ({r['train_cpu_seconds']:.0f}) | "
            f"{r['load_before']:.1f}–{r['load_after']:.1f} | {r['fid']:.2f} | {r['mifid']:.2f} | "
            f"{1000 * r['kid']:.2f} ± {1000 * r['kid_std']:.2f} | {r['mem_distance']:.4f} |"
        )
    reference = SHARED / "data" / "fid_reference" / "reference.json"
    if reference.is_file():  # the scale: the same photos, unpainted (computed under PyTorch)
        photos = json.loads(reference.read_text())["photo_jpg_vs_monet_jpg"]
        lines.append(f"| (the photos, unpainted) | | | | {photos['fid']:.2f} | {photos['mifid']:.2f} | | "
                     f"{photos['mem_distance']:.4f} |")
    (out / "quality.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    photos = np.stack(list(load_images(str(DATA / "photo_jpg"), size=256).take(4).as_numpy_iterator()))
    grid = {"photo": photos}
    for r in rows:
        gen = load_generator(out / r["recipe"] / "run", "last")
        grid[r["recipe"]] = np.asarray(gen.predict(photos, verbose=0))
    rows_grid(grid, path=out / "quality_grid.png", signed=True)
    print(f"table: {out / 'quality.md'}  grid: {out / 'quality_grid.png'}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/stx_quality", help="results folder")
    parser.add_argument("--budget", default="15m", help="training budget per recipe: wall-clock time of 2 free cores")
    parser.add_argument("--photos", type=int, default=800, help="photos painted and scored per recipe")
    parser.add_argument("--recipes", nargs="+", default=list(DEFAULT_RECIPES))
    parser.add_argument("--one", help="run this recipe only (in this process)")
    parser.add_argument("--table", action="store_true", help="only write the table and grid from the results")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if not DATA.is_dir() or not FID_WEIGHTS.is_file():
        raise SystemExit(f"needs the shared data and the FID Inception weights beside the checkout ({SHARED})")
    print(cpu_line(), flush=True)
    if args.one:
        run_one(args.one, args.budget, out, args.photos)
        return
    if not args.table:
        for name in args.recipes:
            if (out / name / "result.json").is_file():
                print(f"{name}: done before, kept", flush=True)
                continue
            cmd = [sys.executable, __file__, "--one", name, "--budget", args.budget, "--out", str(out),
                   "--photos", str(args.photos)]
            subprocess.run(cmd, check=True)
    table(out, args.recipes)


if __name__ == "__main__":
    main()
