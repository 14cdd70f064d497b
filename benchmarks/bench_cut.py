"""CUT / FastCUT training speed and memory against our CycleGAN, at equal generator.

All three train the paper's ResNet-9 generator (64 filters) with a 70×70 PatchGAN, LSGAN, batch 1, at
256 px by default, through the same ``fit`` and the same one-objective train step
(:mod:`stx_tf.training.steps`): CycleGAN with its two generators, two discriminators, cycle and identity
terms and pool of 50 (Zhu et al. 2017); CUT with one generator, the MLP heads, PatchNCE on 5 layers × 256
patches and the identity NCE term; FastCUT with λ_NCE 10, flips and no identity term (Park et al. 2020).

Speed: the models are timed in the same process in alternating rounds after a warm-up, in float32 and
in mixed bfloat16; the best round of each (other jobs share the machine) and the median give the ratios,
CPU seconds per step (nearly independent of other jobs) too. Memory: the peak resident set size of a
child process that builds one painter and runs a few steps (the same child without the model's steps gives
the baseline of TensorFlow and the data; Linux ``VmHWM``).

    python benchmarks/bench_cut.py                       # 256 px, 3 rounds of 4 steps, fp32 and bf16
    python benchmarks/bench_cut.py --size 128 --rounds 2 --precision float32 --no-memory
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from _machine import cpu_line, load_line

from stx_tf import precision
from stx_tf.cut.config import CUTConfig
from stx_tf.cut.model import build_cut
from stx_tf.cyclegan.config import CycleGANConfig
from stx_tf.cyclegan.model import build_cyclegan

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "gan-getting-started"
PAINTERS = ("cyclegan", "cut", "fastcut")


def versions() -> str:
    return f"TF {tf.__version__}, Keras {keras.__version__}"


def dataset(size: int, n: int = 8) -> tf.data.Dataset:
    """``(photo, monet)`` pairs of batch 1 in memory: real competition images when ../shared is there."""
    if SHARED.is_dir():
        from stx_tf.data import load_images

        def first(folder):
            return np.stack(list(load_images(SHARED / folder, size=size).take(n).as_numpy_iterator()))

        photo, monet = first("photo_jpg"), first("monet_jpg")
    else:
        rng = np.random.default_rng(0)
        photo, monet = (rng.uniform(-1, 1, (n, size, size, 3)).astype("float32") for _ in range(2))
    return tf.data.Dataset.from_tensor_slices((photo, monet)).batch(1, drop_remainder=True).repeat()


def build(painter: str, size: int, policy: str):
    """One compiled painter at the paper's widths, under ``policy``."""
    keras.utils.set_random_seed(0)
    with precision.policy_scope(policy):
        if painter == "cyclegan":
            model = build_cyclegan(CycleGANConfig(image_size=size))
        else:
            model = build_cut(CUTConfig(image_size=size, mode=painter))
        model.compile()
    return model


def timed(model, ds, steps: int) -> tuple[float, float]:
    """``(steps per wall second, CPU seconds per step)`` of ``steps`` train steps."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
    return steps / (time.perf_counter() - wall), (time.process_time() - cpu) / steps


def speed(size: int, steps: int, rounds: int, policy: str) -> dict:
    ds = dataset(size)
    models = {name: build(name, size, policy) for name in PAINTERS}
    print(f"[{policy}] warm-up (tracing) at {size} px ...", flush=True)
    for model in models.values():
        timed(model, ds, 1)
    rates = {name: [] for name in PAINTERS}
    for r in range(rounds):
        for name, model in models.items():
            rates[name].append(timed(model, ds, steps))
        print(f"[{policy}] round {r + 1}/{rounds}: "
              + ", ".join(f"{k} {v[-1][0]:.3f} steps/s" for k, v in rates.items()), flush=True)
    out = {}
    for name, values in rates.items():
        out[name] = {
            "best": max(r for r, _ in values),
            "median": statistics.median(r for r, _ in values),
            "cpu_s_per_step": statistics.median(c for _, c in values),
            "params": int(sum(np.prod(v.shape) for v in models[name].trainable_variables)),
        }
    return out


def memory_child(painter: str, size: int, policy: str, steps: int) -> None:
    """Run in a child process: build ``painter`` (or nothing for ``"baseline"``), run ``steps`` steps, print
    the peak RSS in MiB."""
    ds = dataset(size)
    next(iter(ds))
    if painter != "baseline":
        timed(build(painter, size, policy), ds, steps)
    print(json.dumps({"peak_mib": peak_rss_mib()}))


def peak_rss_mib() -> float:
    """This process's peak resident set size: ``VmHWM`` (``ru_maxrss`` would carry the parent's peak across
    the child's ``execve``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(size: int, policy: str, steps: int = 2) -> dict:
    peaks = {}
    for painter in ("baseline", *PAINTERS):
        cmd = [sys.executable, __file__, "--memory-child", painter, "--size", str(size), "--precision", policy,
               "--steps", str(steps)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        peaks[painter] = json.loads(done.stdout.strip().splitlines()[-1])["peak_mib"]
        print(f"[{policy}] peak RSS {painter}: {peaks[painter]:.0f} MiB", flush=True)
    return peaks


def report(size: int, steps: int, rounds: int, results: dict, peaks: dict) -> None:
    print(f"\n{cpu_line()} | {versions()} | {load_line()}")
    print(f"train steps/s at {size} px, batch 1, ResNet-9 generator ({rounds} rounds of {steps} steps, "
          "alternating):")
    for policy, rates in results.items():
        base = rates["cyclegan"]
        for name, r in rates.items():
            mem = peaks.get(policy, {})
            extra = ""
            if name in mem and "baseline" in mem:
                extra = f", peak RSS {mem[name]:.0f} MiB (+{mem[name] - mem['baseline']:.0f} over the baseline)"
            print(
                f"  {policy:15s} {name:9s} best {r['best']:.3f} steps/s ({1 / r['best']:.2f} s/step), "
                f"median {r['median']:.3f}, CPU {r['cpu_s_per_step']:.2f} s/step, "
                f"x{r['best'] / base['best']:.2f} best / x{r['median'] / base['median']:.2f} median / "
                f"x{base['cpu_s_per_step'] / r['cpu_s_per_step']:.2f} CPU vs CycleGAN, "
                f"{r['params'] / 1e6:.1f} M trainable{extra}"
            )
    if "float32" in results and "mixed_bfloat16" in results:
        for name in PAINTERS:
            ratio = results["mixed_bfloat16"][name]["best"] / results["float32"][name]["best"]
            print(f"  bf16 / fp32 {name}: x{ratio:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=4, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--precision", nargs="+", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory children")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    policies = [precision.normalise(p) for p in args.precision]
    if args.memory_child:
        memory_child(args.memory_child, args.size, policies[0], args.steps)
        return
    print(cpu_line(), "|", versions(), "|", load_line(), flush=True)
    results = {p: speed(args.size, args.steps, args.rounds, p) for p in policies}
    peaks = {} if args.no_memory else {p: memory(args.size, p) for p in policies}
    report(args.size, args.steps, args.rounds, results, peaks)


if __name__ == "__main__":
    main()
