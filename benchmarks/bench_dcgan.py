"""Steps/s of ``DCGAN.fit`` against the older-tutorial loop doing the same math (not run by CI).

Baseline (how many older Keras GAN tutorials train, e.g. "How to Develop a GAN to Generate Faces"):
per step, NumPy latent points -> ``generator.predict`` for a fake batch; the discriminator gets ONE
``train_on_batch`` on a batch that is half real, half fake (B real + B fake, labels 1 / 0); then the
stacked ``Sequential([generator, frozen discriminator])`` gets ``train_on_batch`` on fresh latent points
labelled 1. The tutorial nets compute in float32, as those tutorials do.

Ours: ``DCGAN.fit`` with ``DCGANConfig``'s defaults (what ``stx dcgan train`` and the notebook use) on a
cached, prefetched ``tf.data`` pipeline: latent noise drawn inside the step, one generator pass per step,
both losses and both updates from one persistent tape, ``steps_per_execution`` (8) steps per graph call,
and ``precision="auto"``: ``mixed_bfloat16`` on a CPU-only machine whose CPU does bfloat16 natively (AMX /
AVX-512 BF16), else float32. Variables, optimiser states and losses stay float32. XLA (``jit_compile``)
is not used: on this CPU it made the step slower (float32 about 0.8x, bfloat16 several times slower).
Two reference rows show what each setting contributes: the defaults in float32, and the defaults with
one step per graph call.

Same math per step: the same nets, Adam(2e-4, β1 0.5) for each, BCE from logits, the discriminator
updated on B real + B fake images, the generator on B fakes with the non-saturating loss. (The tutorial
loop updates the generator against the already-updated discriminator and with fresh noise; ours makes
simultaneous updates from one forward pass, as the TensorFlow DCGAN tutorial does.)

    python benchmarks/bench_dcgan.py [--arch classic] [--batch-size 64] [--steps 16] [--rounds 2]
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np
import tensorflow as tf
from _machine import cpu_line, load_line

from stx_tf.dcgan.config import DCGANConfig
from stx_tf.dcgan.nets import build_models
from stx_tf.dcgan.train import build_gan
from stx_tf.precision import cpu_has_bf16
from stx_tf.precision import resolve as resolve_precision

LATENT = 100


def tutorial_models(arch: str):
    """The tutorial's three compiled models: discriminator, generator, stacked GAN (D frozen inside)."""
    gen, disc = build_models(arch, latent_dim=LATENT)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    disc.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), loss=bce, metrics=["accuracy"])
    disc.trainable = False
    gan = keras.Sequential([gen, disc])
    gan.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), loss=bce)
    return gen, disc, gan


def tutorial_step(gen, disc, gan, dataset: np.ndarray, batch: int, rng: np.random.Generator):
    """One step of the tutorial loop (NumPy latent points, train_on_batch x 2)."""
    x_real = dataset[rng.integers(0, len(dataset), batch)]
    x_fake = gen.predict(rng.standard_normal((batch, LATENT)).astype("float32"), verbose=0)
    x = np.vstack([x_real, x_fake])  # half real, half fake
    y = np.vstack([np.ones((batch, 1)), np.zeros((batch, 1))])
    disc.trainable = True
    d_loss = disc.train_on_batch(x, y)
    disc.trainable = False
    z = rng.standard_normal((batch, LATENT)).astype("float32")
    g_loss = gan.train_on_batch(z, np.ones((batch, 1)))
    return d_loss, g_loss


def check_tutorial_freezing(gen, disc, gan, dataset, batch) -> None:
    """The stacked model must leave D alone and D's own step must change it (Keras 3 trainable rules)."""
    rng = np.random.default_rng(0)
    kernel = disc.trainable_weights[0] if disc.trainable_weights else disc.weights[0]
    before = keras.ops.convert_to_numpy(kernel)
    disc.trainable = True
    disc.train_on_batch(dataset[:batch], np.ones((batch, 1)))
    disc.trainable = False
    after_d = keras.ops.convert_to_numpy(kernel)
    gan.train_on_batch(rng.standard_normal((batch, LATENT)).astype("float32"), np.ones((batch, 1)))
    after_g = keras.ops.convert_to_numpy(kernel)
    assert not np.allclose(before, after_d), "discriminator step did not change D"
    assert np.allclose(after_d, after_g), "stacked-model step changed the frozen D"


def time_tutorial(arch, dataset, batch, steps) -> float:
    gen, disc, gan = tutorial_models(arch)
    check_tutorial_freezing(gen, disc, gan, dataset, batch)
    rng = np.random.default_rng(1)
    for _ in range(2):  # warm-up (tracing)
        tutorial_step(gen, disc, gan, dataset, batch, rng)
    start = time.perf_counter()
    for _ in range(steps):
        tutorial_step(gen, disc, gan, dataset, batch, rng)
    return steps / (time.perf_counter() - start)


def time_ours(arch, dataset, batch, steps, **settings) -> float:
    """Steps/s of ``DCGAN.fit`` built from ``DCGANConfig`` defaults overridden by ``settings``.

    ``steps`` must be a multiple of the config's ``steps_per_execution``.
    """
    config = DCGANConfig(images="-", architecture=arch, batch_size=batch, **settings)
    gan = build_gan(config)
    ds = tf.data.Dataset.from_tensor_slices(dataset).cache().shuffle(len(dataset)).repeat()
    ds = ds.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    spe = config.steps_per_execution
    gan.fit(ds, steps_per_epoch=spe, epochs=1, verbose=0, shuffle=False)  # warm-up (tracing)
    start = time.perf_counter()
    gan.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return steps / (time.perf_counter() - start)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="classic", choices=("classic", "dcgan"))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=16, help="timed steps per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each is kept")
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the float32 and spe=1 reference rows"
    )
    args = parser.parse_args(argv)
    print(cpu_line(), "|", load_line(), flush=True)

    defaults = DCGANConfig()
    spe = defaults.steps_per_execution
    precision = resolve_precision(defaults.precision)
    steps = max(spe, args.steps // spe * spe)
    ours = f"DCGAN.fit defaults ({precision}, spe={spe})"
    variants = {ours: {}}
    if not args.no_reference:
        variants[f"DCGAN.fit float32, spe={spe}"] = {"precision": "float32"}
        variants[f"DCGAN.fit {precision}, spe=1"] = {"steps_per_execution": 1}

    rng = np.random.default_rng(0)
    dataset = rng.uniform(-1, 1, (512, 64, 64, 3)).astype("float32")
    best = {"tutorial loop (float32)": 0.0, **{name: 0.0 for name in variants}}
    for r in range(args.rounds):
        best["tutorial loop (float32)"] = max(
            best["tutorial loop (float32)"], time_tutorial(args.arch, dataset, args.batch_size, args.steps)
        )
        for name, settings in variants.items():
            n = steps if settings.get("steps_per_execution", spe) > 1 else args.steps
            best[name] = max(best[name], time_ours(args.arch, dataset, args.batch_size, n, **settings))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v:.3f}" for k, v in best.items()), flush=True)
    base = best["tutorial loop (float32)"]
    print(
        f"\narch={args.arch} batch={args.batch_size} tutorial steps={args.steps} ours steps={steps} "
        f"(best of {args.rounds} alternating rounds, steps/s)"
    )
    print(
        f"ours = DCGANConfig defaults: precision={defaults.precision!r} -> {precision} on this machine "
        f"(CPU native bf16: {cpu_has_bf16()}), steps_per_execution={spe}, jit_compile off, "
        "noise drawn in the step, cached + prefetched tf.data"
    )
    for name, value in best.items():
        print(f"  {name:<38} {value:7.3f} steps/s   ratio vs tutorial loop {value / base:5.2f}x")


if __name__ == "__main__":
    main()
