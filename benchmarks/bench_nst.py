"""Benchmark: ``stx_tf.nst.stylize`` against the TensorFlow tutorial's Gatys procedure, in one process.

The baseline is the procedure of https://www.tensorflow.org/tutorials/generative/style_transfer: Adam
(lr 0.02, β1 0.99, ε 0.1), ``--steps`` steps (1,000 in the tutorial), ONE ``tf.function`` train step per
Python loop iteration, image clipped to [0, 1] after each step. Both sides minimise exactly the same loss
(:class:`stx_tf.nst.StyleObjective`: same backbone, layers, weights, content/style pair and size).

Printed:
* per-step time: tutorial step vs our compiled multi-step Adam loop (steady state, tracing excluded);
* time to target: wall time (tracing included on both sides) for ``stylize`` to reach the loss the
  tutorial procedure ends at, for several ``stylize`` settings, as a ratio to the tutorial's wall time
  (target of issue 4: <= 1/3 at 512 px).

Usage::

    python benchmarks/bench_nst.py                      # 512 px, 1,000 steps (the issue's setting)
    nice python benchmarks/bench_nst.py --size 256 --steps 400   # reduced

Uses the SqueezeNet weights from ``../shared`` when present (``--weights`` to choose a file), the
Tübingen photo and Starry Night from ``../shared/data`` when present, else the demo images.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from stx_tf import nst  # noqa: E402

SHARED = Path(os.environ.get("STX_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SQUEEZENET = SHARED / "weights" / "squeezenet" / "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5"
CONTENT = SHARED / "data" / "content" / "neural-style__tubingen.jpg"
STYLE = SHARED / "data" / "styles" / "neural-style__starry_night.jpg"


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


def per_step_times(objective, content: np.ndarray, cfg, rounds: int = 6) -> tuple[float, float]:
    """Median seconds per step, (tutorial, ours), measured in alternating rounds of ``steps_per_call`` steps
    (the machine may be shared: alternating keeps both sides under the same load)."""
    _, tutorial_step = tutorial_step_fn(objective, content)
    variable = keras.Variable(content[None])
    run = nst.adam_runner(objective, variable, cfg)
    k = tf.constant(cfg.steps_per_call)
    for _ in range(2):  # trace and warm up
        tutorial_step()
        run(k).numpy()
    tutorial_times, our_times = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(cfg.steps_per_call):
            tutorial_step()
        tutorial_times.append((time.perf_counter() - t) / cfg.steps_per_call)
        t = time.perf_counter()
        run(k).numpy()
        our_times.append((time.perf_counter() - t) / cfg.steps_per_call)
    return float(np.median(tutorial_times)), float(np.median(our_times))


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
        default="adam,adam@0.06,lbfgs,adam@0.06+ms2",
        help="stylize settings to time: adam, adam@LR, lbfgs, with +msN for N coarse-to-fine scales",
    )
    parser.add_argument("--coarse-steps", type=int, default=100, help="steps at each coarse scale (+msN)")
    args = parser.parse_args(argv)

    weights = args.weights or (
        str(SQUEEZENET) if args.backbone == "squeezenet" and SQUEEZENET.is_file() else None
    )
    content, style = nst.demo_images(args.content, args.style, max_dim=args.size)
    cfg = nst.StylizeConfig(backbone=args.backbone, weights=weights, max_dim=args.size).resolved()
    objective = nst.StyleObjective(nst._extractor(cfg), content, [style], cfg)
    print(
        f"backbone={cfg.backbone} weights={weights} content={content.shape[1]}x{content.shape[0]} "
        f"style layers={cfg.style_layers} content layers={cfg.content_layers} λ={cfg.content_weight} tv={cfg.tv_weight}"
    )

    tutorial_step, ours_step = per_step_times(objective, content, cfg)
    print(
        f"per-step time: ours {ours_step * 1000:.1f} ms vs tutorial {tutorial_step * 1000:.1f} ms "
        f"-> ratio {ours_step / tutorial_step:.2f}"
    )
    final, tutorial_s = tutorial_procedure(objective, content, args.steps)
    target = float(objective(final[None]))
    print(f"tutorial procedure: {args.steps} steps in {tutorial_s:.1f} s, final loss {target:.6g}")

    for variant in args.variants.split(","):
        name, _, scales = variant.partition("+ms")
        optimizer, _, lr = name.partition("@")
        stop = nst.StopAtLoss(target)
        result = nst.stylize(
            content,
            style,
            cfg,
            optimizer=optimizer,
            learning_rate=float(lr or cfg.learning_rate),
            multiscale=int(scales or 1),
            epochs=max(1, args.steps * 12 // 100),  # up to 1.2x the tutorial step budget
            steps=10,
            coarse_steps=args.coarse_steps,
            callbacks=[stop],
            verbose=0,
        )
        if stop.reached_after is None:
            print(
                f"stylize[{variant}]: did not reach {target:.6g} in {result.steps} steps "
                f"({result.seconds:.1f} s, best {min(result.epoch_losses):.6g})"
            )
            continue
        print(
            f"stylize[{variant}]: reached {result.final_loss:.6g} after {result.steps} steps in "
            f"{stop.reached_after:.1f} s -> time ratio {stop.reached_after / tutorial_s:.3f} (target <= 0.333)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
