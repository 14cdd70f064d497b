"""One CycleGAN train step under Keras' JAX backend vs its TensorFlow backend, at equal maths, on this CPU.

The same model (:class:`stx_tf.cyclegan.model.CycleGAN`: one objective in ``keras.ops``, the shared train step of
:mod:`stx_tf.training.steps`) is timed in two child processes (the backend is fixed when Keras is imported),
alternating rounds; each round is the best of a few ``fit`` calls after a warm-up. It also prints the
arithmetic of a train step, and what it means for Kaggle's TPU v5e-8 (no target here: a report).

    python benchmarks/bench_backends.py                       # ResNet-9, 256 px, batch 1, float32
    python benchmarks/bench_backends.py --size 128 --filters 32 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
import numpy as np, keras, tensorflow as tf
from stx_tf.cyclegan.config import CycleGANConfig
from stx_tf.cyclegan.model import build_cyclegan
args = json.loads(sys.argv[1])
config = CycleGANConfig(filters=args["filters"], res_blocks=args["blocks"], image_size=args["size"])
keras.utils.set_random_seed(0)
model = build_cyclegan(config)
model.compile(steps_per_execution=args["spe"])
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (args["batch"], args["size"], args["size"], 3)).astype("float32")
ds = tf.data.Dataset.from_tensors((x, x)).repeat()
steps = args["steps"]
model.fit(ds, steps_per_epoch=args["spe"], epochs=1, verbose=0)  # warm-up: trace / compile
best = float("inf")
for _ in range(args["repeats"]):
    start = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    best = min(best, (time.perf_counter() - start) / steps)
print(json.dumps({"backend": keras.backend.backend(), "step_seconds": best}))
"""


def conv_flops(model) -> float:
    """Multiply-adds x 2 of the convolutions of a built functional model (per image)."""
    import keras

    total = 0.0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            _, h, w, c_in = layer.input.shape
            kh, kw = layer.kernel_size
            total += 2.0 * h * w * kh * kw * c_in * layer.filters
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += 2.0 * h * w * kh * kw * layer.input.shape[-1] * c_out
    return total


def paper_arithmetic(size: int, filters: int, blocks: int) -> dict:
    """FLOPs of one train step per example: 6 generator and 6 discriminator forward passes, x3 for training."""
    from stx_tf.cyclegan.nets import resnet_generator
    from stx_tf.nn import patchgan_discriminator

    g = conv_flops(_rebuild(resnet_generator(filters=filters, res_blocks=blocks), size))
    d = conv_flops(_rebuild(patchgan_discriminator(), size))
    forward = 6 * g + 6 * d  # G(x), G(y), G(F(y)); F likewise; each D on real, pooled and (frozen) fake
    return {"generator_gflop": g / 1e9, "discriminator_gflop": d / 1e9, "step_gflop_per_example": 3 * forward / 1e9}


def _rebuild(model, size: int):
    """The same functional graph with a fixed input side (so every layer has static shapes)."""
    import keras

    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = (None, size, size, 3)
    return keras.Model.from_config(config)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=9)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per fit call")
    parser.add_argument("--repeats", type=int, default=2, help="fit calls per round (best kept)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per backend")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from _machine import cpu_line, load_line  # noqa: E402 - the one CPU description of the benchmarks

    print(cpu_line(), "|", load_line(), flush=True)
    spec = {"size": args.size, "filters": args.filters, "blocks": args.blocks, "batch": args.batch,
            "steps": args.steps, "repeats": args.repeats, "spe": 1}
    times = {"tensorflow": [], "jax": []}
    for _ in range(args.rounds):
        for backend in times:
            env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
            out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True,
                                 env=env, check=True).stdout
            times[backend].append(json.loads(out.strip().splitlines()[-1])["step_seconds"])
            print(f"{backend}: {times[backend][-1]:.3f} s/step", flush=True)
    tf_best, jax_best = min(times["tensorflow"]), min(times["jax"])
    print(f"ResNet-{args.blocks} ({args.filters} filters), {args.size} px, batch {args.batch}, float32: "
          f"TF {tf_best:.3f} s/step, JAX {jax_best:.3f} s/step -> JAX/TF speed {tf_best / jax_best:.2f}x")
    arithmetic = paper_arithmetic(args.size, args.filters, args.blocks)
    print(json.dumps(arithmetic, indent=1))


if __name__ == "__main__":
    main()
