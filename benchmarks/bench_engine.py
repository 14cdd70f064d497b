"""The float32 CPU inference engine (:mod:`stx_tf.engine`) against the same Keras net as it is.

For the export generators (the tutorials' U-Net and the paper's ResNet-9 of ``stx cyclegan``, a batch of
8 photos at 256 px), the quick start's small ResNet and the fast-style transform net (widths 16/32/64, one
1024x768 photo), it times in alternating rounds, network only, after a warm-up:

* ``keras float32``: the net as built, in one compiled ``tf.function`` (what runs without the engine);
* ``engine float32``: :func:`stx_tf.engine.predictor` (the rewritten copy: what ``export_submission``,
  ``stx fast-style apply`` and the web demo run in float32);
* ``engine + Winograd``: ``engine.optimise(net, winograd=True)`` compiled (what ``export_submission`` runs
  on a CPU in float32: the wide 3x3 convolutions by Winograd's F(4x4, 3x3));
* ``keras float32, XLA``: the net as built, compiled by XLA (``jit_compile=True``), one candidate runtime;
* ``keras <auto>``: the bf16 cast copy (only where the CPU does bf16 natively: ``precision="auto"``).

and prints the largest pixel difference engine vs Keras (on ``[-1, 1]`` / ``[0, 1]`` outputs).

    python benchmarks/bench_engine.py --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _machine import cpu_line, load_line


def nets():
    """``{name: (model, input batch, keep-layers for the cast copy)}``."""
    from stx_tf.cyclegan.nets import resnet_generator, unet_generator
    from stx_tf.fast_style import build_transform_net

    rng = np.random.default_rng(0)
    photos = rng.uniform(-1, 1, (8, 256, 256, 3)).astype(np.float32)
    unet = unet_generator()
    resnet = resnet_generator()  # the paper's ResNet-9 (CycleGAN's default generator)
    small = resnet_generator(filters=12, res_blocks=3)  # the quick start's generator
    photo = rng.uniform(0, 1, (1, 768, 1024, 3)).astype(np.float32)
    fast = build_transform_net(filters=(16, 32, 64))
    return {
        "U-Net generator, 8 x 256 px": (unet, photos, [unet.layers[-1]]),
        "ResNet-9 generator, 8 x 256 px": (resnet, photos, [resnet.layers[-1]]),
        "ResNet generator (12 filters), 8 x 96 px": (small, photos[:, :96, :96], [small.layers[-1]]),
        "fast-style net 16/32/64, 1 x 1024x768": (fast, photo, ["to_unit", "crop"]),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(cpu_line(), "|", load_line(), flush=True)

    import tensorflow as tf

    from stx_tf import engine, precision

    auto = precision.resolve("auto")
    for label, (model, x, keep) in nets().items():
        runners = {
            "keras float32": tf.function(lambda images, m=model: m(images, training=False)),
            "engine float32": engine.predictor(model),
            "engine + Winograd": tf.function(
                lambda images, m=engine.optimise(model, winograd=True): m(images, training=False)
            ),
            "keras float32, XLA": tf.function(lambda images, m=model: m(images, training=False), jit_compile=True),
        }
        if auto != "float32":
            copy = precision.cast_copy(model, auto, keep=keep)
            runners[f"keras {auto}"] = tf.function(lambda images, m=copy: m(images, training=False))
        outputs = {name: np.asarray(fn(x), np.float32) for name, fn in runners.items()}  # warm-up
        diff = {name: float(np.max(np.abs(outputs[name] - outputs["keras float32"])))
                for name in ("engine float32", "engine + Winograd")}
        times = {name: [] for name in runners}
        for _ in range(args.rounds):
            for name, fn in runners.items():
                start = time.perf_counter()
                np.asarray(fn(x))
                times[name].append(time.perf_counter() - start)
        base = min(times["keras float32"])
        print(f"\n{label} (min / median of {args.rounds} rounds; {load_line()}); "
              f"max |engine - keras| {diff['engine float32']:.1e}, with Winograd {diff['engine + Winograd']:.1e}")
        for name, values in times.items():
            best, median = min(values), statistics.median(values)
            print(f"  {name:22s} {best:7.3f} s / {median:7.3f} s   speed-up vs keras float32 {base / best:5.2f}x"
                  f"   ({x.shape[0] / best:6.2f} images/s)")


if __name__ == "__main__":
    main()
