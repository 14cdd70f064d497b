"""Benchmark: ``stx_tf.nst.stylize`` against the TensorFlow tutorial's Gatys procedure, in one process.

The baseline is the procedure of https://www.tensorflow.org/tutorials/generative/style_transfer: Adam
(lr 0.02, β1 0.99, ε 0.1), ``--steps`` steps (1,000 in the tutorial), ONE ``tf.function`` train step per
Python loop iteration, autodiff of the loss, image clipped to [0, 1] after each step. Both sides minimise
exactly the same loss (:class:`stx_tf.nst.StyleObjective`: same backbone, layers, weights, content/style
pair and size): the tutorial differentiates ``objective(image)`` (float32, plain autodiff), ``stylize``
steps on :meth:`~stx_tf.nst.StyleObjective.step_loss` (same function; hand-written Gram gradient, slice
TV, bfloat16 convolutions with ``precision="bfloat16"``). Every loss printed and every target comparison
uses the float32 ``objective`` on the clipped image.

Printed:
* per-step time: the tutorial's step vs ours (the recommended precision, and float32), steady state,
  tracing excluded, measured in alternating rounds (the machine may be shared);
* the tutorial procedure's wall time and final float32 loss (the target);
* for each ``stylize`` variant: wall time (tracing, setup and the per-epoch float32 loss checks included)
  to reach the target, as a ratio to the tutorial's wall time (issue 4's target: <= 1/3 at 512 px), the
  steps taken and the float32 loss of the image ``stylize`` returned, re-evaluated here.

Usage::

    python benchmarks/bench_nst.py                      # 512 px, 1,000 steps (the issue's setting)
    nice python benchmarks/bench_nst.py --size 256 --steps 400   # reduced

Uses the SqueezeNet weights from ``../shared`` when present (``--weights`` to choose a file), the
Tübingen photo and Starry Night from ``../shared/data`` when present, else the demo images.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _machine import cpu_line, load_line  # noqa: E402

from stx_tf import nst  # noqa: E402

SHARED = Path(os.environ.get("STX_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SQUEEZENET = SHARED / "weights" / "squeezenet" / "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5"
CONTENT = SHARED / "data" / "content" / "neural-style__tubingen.jpg"
STYLE = SHARED / "data" / "styles" / "neural-style__starry_night.jpg"
MAGENTA = SHARED / "weights" / "magenta_arbitrary_style"


def tutorial_step_fn(objective, content: np.ndarray):
    """The tutorial's ``train_step`` (one tf.function call per step) on a fresh image variable."""
    image = tf.Variable(content[None])
    opt = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    @tf.function()
    def train_step(image):
        with tf.GradientTape() as tape:
            loss = objective(image)
        grad = tape.gradient(loss, image)
        opt.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))

    return image, lambda: train_step(image)


def tutorial_procedure(objective, content: np.ndarray, steps: int):
    """The tutorial's loop: ``steps`` Python iterations of one train step. Returns (image, seconds)."""
    start = time.perf_counter()
    image, step = tutorial_step_fn(objective, content)
    for _ in range(steps):
        step()
    final = image.numpy()[0]
    return final, time.perf_counter() - start


def per_step_times(objective, content: np.ndarray, cfg, precisions, rounds: int = 6) -> dict[str, float]:
    """Median seconds per step: ``"tutorial"`` and our Adam steps (``nst.adam_runner``) with each of
    ``precisions``, measured in alternating rounds of ``steps_per_call`` steps."""
    runners = {"tutorial": tutorial_step_fn(objective, content)[1]}
    for precision in precisions:
        fast = copy.copy(objective)  # same targets
        fast.step_extractor = nst.extractor(cfg, precision)
        run = nst.adam_runner(fast, keras.Variable(content[None]), cfg)
        runners[f"ours ({precision})"] = lambda run=run: run(cfg.steps_per_call).numpy()
    k = cfg.steps_per_call
    for name, runner in runners.items():  # trace and warm up
        for _ in range(2 if name == "tutorial" else 1):
            runner()
    times = {name: [] for name in runners}
    for _ in range(rounds):
        for name, runner in runners.items():
            t = time.perf_counter()
            for _ in range(k if name == "tutorial" else 1):
                runner()
            times[name].append((time.perf_counter() - t) / k)
    return {name: float(np.median(values)) for name, values in times.items()}


def variant_config(variant: str, base: nst.StylizeConfig, size: int, steps: int) -> nst.StylizeConfig:
    """The ``stylize`` settings of one variant, in epochs of 10 steps (the target is checked after each).

    ``recommended[/PRECISION]``: :func:`stx_tf.nst.recommended_config` for a local machine (its optimiser,
    schedule, precision unless given, e.g. ``recommended/float32`` for CPUs without bf16, and number of steps). ``OPTIMIZER[@LR][/PRECISION][+msN]``, e.g. ``adam@0.04/float32``,
    ``lbfgs``, ``adam@0.06+ms2``: constant rate, up to 1.2x the tutorial's ``steps``. A ``~instant`` suffix
    (``recommended~instant``) starts from the instant painting (``init="instant"``, :mod:`stx_tf.arbitrary`)
    instead of the photo.
    """
    variant, _, init = variant.partition("~")
    return dataclasses.replace(_variant_config(variant, base, size, steps), init=init or base.init)


def _variant_config(variant: str, base: nst.StylizeConfig, size: int, steps: int) -> nst.StylizeConfig:
    if variant.partition("/")[0] == "recommended":
        rec = nst.recommended_config(smoke=False, place="local", max_dim=size)
        optimiser = ("optimizer", "learning_rate", "beta_1", "beta_2", "epsilon", "schedule")
        tuned = {name: getattr(rec, name) for name in (*optimiser, "final_lr_fraction", "precision")}
        tuned["precision"] = variant.partition("/")[2] or tuned["precision"]  # recommended/float32
        return dataclasses.replace(base, **tuned, epochs=max(1, rec.epochs * rec.steps_per_epoch // 10), steps_per_epoch=10)
    name, _, scales = variant.partition("+ms")
    name, _, precision = name.partition("/")
    optimizer, _, lr = name.partition("@")
    return dataclasses.replace(
        base,
        optimizer=optimizer,
        learning_rate=float(lr or base.learning_rate),
        precision=precision or "auto",
        multiscale=int(scales or 1),
        epochs=max(1, steps * 12 // 100),
        steps_per_epoch=10,
    )


def noisy(content: np.ndarray, seed: int) -> np.ndarray:
    """The photo plus N(0, 1e-3) noise (clipped) for ``seed`` > 0; the photo itself for seed 0."""
    if seed == 0:
        return content
    noise = np.random.default_rng(seed).normal(0.0, 1e-3, content.shape)
    return np.clip(content + noise, 0.0, 1.0).astype(np.float32)


def run_variant(variant, vcfg, content, style, objective, target, tutorial_s, args) -> float:
    """One ``stylize`` run to ``target``; prints it and returns its time ratio to the tutorial."""
    stop = nst.StopAtLoss(target)
    result = nst.stylize(content, style, vcfg, coarse_steps=args.coarse_steps, callbacks=[stop], verbose=0)
    loss = float(objective(np.clip(result.image, 0.0, 1.0)[None]))  # float32, same objective
    desc = (
        f"stylize[{variant}: {vcfg.optimizer} lr={vcfg.learning_rate} {vcfg.schedule} "
        f"β1={vcfg.beta_1} β2={vcfg.beta_2} {result.config.precision} {vcfg.epochs * vcfg.steps_per_epoch} steps"
        f"{f' ms{vcfg.multiscale}' if vcfg.multiscale > 1 else ''} init={vcfg.init}]"
    )
    if stop.reached_after is None:
        print(
            f"{desc}: did not reach {target:.6g} in {result.steps} steps ({result.seconds:.1f} s, "
            f"time ratio {result.seconds / tutorial_s:.3f}); final float32 loss {loss:.6g} "
            f"({loss / target:.4f}x the target)", flush=True
        )
        return result.seconds / tutorial_s
    print(
        f"{desc}: reached the target after {result.steps} steps in {stop.reached_after:.1f} s "
        f"-> time ratio {stop.reached_after / tutorial_s:.3f} (target <= 0.333); final float32 loss "
        f"{loss:.6g} ({loss / target:.4f}x the target)", flush=True
    )
    return stop.reached_after / tutorial_s


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=1000, help="tutorial steps (1000 in the tutorial)")
    parser.add_argument("--backbone", default="squeezenet")
    parser.add_argument(
        "--weights", default=None, help="weights file (default: ../shared SqueezeNet, else None)"
    )
    parser.add_argument("--content", default=str(CONTENT) if CONTENT.is_file() else None)
    parser.add_argument("--style", default=str(STYLE) if STYLE.is_file() else None)
    parser.add_argument(
        "--variants",
        default="recommended,adam@0.04/float32,adam,lbfgs",
        help="stylize settings to time: recommended[/PRECISION], or OPTIMIZER[@LR][/PRECISION][+msN] (adam, lbfgs; "
        "PRECISION float32/bfloat16/auto, default auto; +msN: N coarse-to-fine scales); ~instant: start "
        "from the instant painting (e.g. recommended~instant)",
    )
    parser.add_argument(
        "--instant-model", default=str(MAGENTA) if MAGENTA.is_dir() else None, help="for ~instant variants"
    )
    parser.add_argument("--coarse-steps", type=int, default=100, help="steps at each coarse scale (+msN)")
    parser.add_argument(
        "--photo-noise-seeds",
        default="0",
        help="comma-separated seeds: run each variant once per seed on the photo plus Gaussian noise of std "
        "1e-3 (seed 0: the photo itself) and print the median. The steps to the target are chaotic: noise this "
        "small moves them by ±30 around 540",
    )
    args = parser.parse_args(argv)
    print(cpu_line(), "|", load_line(), flush=True)

    weights = args.weights or (
        str(SQUEEZENET) if args.backbone == "squeezenet" and SQUEEZENET.is_file() else None
    )
    content, style = nst.demo_images(args.content, args.style, max_dim=args.size)
    cfg = nst.StylizeConfig(
        backbone=args.backbone, weights=weights, max_dim=args.size, instant_model=args.instant_model
    ).resolved()
    objective = nst.StyleObjective(nst.extractor(cfg), content, [style], cfg)
    print(
        f"backbone={cfg.backbone} weights={weights} content={content.shape[1]}x{content.shape[0]} "
        f"style layers={cfg.style_layers} content layers={cfg.content_layers} λ={cfg.content_weight} tv={cfg.tv_weight}"
    )

    precision = nst.step_policy("auto")
    precisions = [precision] + (["float32"] if precision != "float32" else [])
    steps = per_step_times(objective, content, cfg, precisions)
    tutorial_step = steps.pop("tutorial")
    print(f"per-step time: tutorial {tutorial_step * 1000:.1f} ms", end="")
    for name, seconds in steps.items():
        print(f"; {name} {seconds * 1000:.1f} ms -> ratio {seconds / tutorial_step:.3f}", end="")
    print()
    final, tutorial_s = tutorial_procedure(objective, content, args.steps)
    target = float(objective(final[None]))
    print(f"tutorial procedure: {args.steps} steps in {tutorial_s:.1f} s, final loss {target:.6g}")

    seeds = [int(seed) for seed in args.photo_noise_seeds.split(",")]
    for variant in args.variants.split(","):
        vcfg = variant_config(variant, cfg, args.size, args.steps)
        ratios = [run_variant(variant, vcfg, noisy(content, seed), style, objective, target, tutorial_s, args)
                  for seed in seeds]
        if len(seeds) > 1:
            print(f"{variant}: median time ratio over {len(seeds)} photo-noise seeds {np.median(ratios):.3f} "
                  f"(min {min(ratios):.3f}, max {max(ratios):.3f}; a run that missed the target counts its whole time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
