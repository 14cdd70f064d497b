"""CycleGAN training speed: ``stx_tf.cyclegan.CycleGAN.fit`` against the TensorFlow tutorial's loop.

The baseline is the tutorial's code (https://www.tensorflow.org/tutorials/generative/cyclegan) ported to
Keras 3: ``pix2pix.unet_generator`` / ``pix2pix.discriminator`` with their custom
``InstanceNormalization`` layer, BCE from logits, λ = 10, four Adam optimisers, and the ``@tf.function``
``train_step`` with one persistent tape, six generator calls, four discriminator calls and four
``tape.gradient`` calls, fed one ``(photo, monet)`` pair at a time. Ours runs the same maths (U-Net
generators, 30×30 PatchGANs, BCE, batch 1, no pool, no DiffAugment) through ``CycleGAN.fit``.
Remaining differences, negligible in cost: the tutorial normalises its 1×1 innermost U-Net step
(a constant output) and uses LeakyReLU 0.3 instead of 0.2. The ResNet-9 generator is timed too.

Both are timed in the same process, alternating rounds, after a warm-up; the ratio is ours / tutorial,
for the best round of each (other jobs share the machine) and for the medians.

    python benchmarks/bench_cyclegan_train.py                 # 256 px, 5 rounds of 8 steps
    python benchmarks/bench_cyclegan_train.py --size 128 --steps 10 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from _machine import cpu_line, load_line

from stx_tf import precision
from stx_tf.cyclegan.model import CycleGAN
from stx_tf.cyclegan.nets import build_generator
from stx_tf.nn import patchgan_discriminator

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "gan-getting-started"
LAMBDA = 10


# ------------------------------------------------------------------------- the tutorial's code (Keras 3)
class InstanceNormalization(keras.layers.Layer):
    """tensorflow_examples.models.pix2pix.InstanceNormalization."""

    def __init__(self, epsilon=1e-5):
        super().__init__()
        self.epsilon = epsilon

    def build(self, input_shape):
        self.scale = self.add_weight(
            name="scale", shape=input_shape[-1:], initializer=keras.initializers.RandomNormal(1.0, 0.02)
        )
        self.offset = self.add_weight(name="offset", shape=input_shape[-1:], initializer="zeros")

    def call(self, x):
        mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        inv = tf.math.rsqrt(variance + self.epsilon)
        return self.scale * (x - mean) * inv + self.offset


def _tut_block(conv, filters, size, apply_norm=True, apply_dropout=False, activation=None):
    """The body shared by the tutorial's ``downsample`` (Conv2D) and ``upsample`` (Conv2DTranspose)."""
    result = keras.Sequential()
    init = keras.initializers.RandomNormal(0.0, 0.02)
    result.add(conv(filters, size, strides=2, padding="same", kernel_initializer=init, use_bias=False))
    if apply_norm:
        result.add(InstanceNormalization())
    if apply_dropout:
        result.add(keras.layers.Dropout(0.5))
    result.add(activation or keras.layers.LeakyReLU())
    return result


def tut_downsample(filters, size, apply_norm=True):
    return _tut_block(keras.layers.Conv2D, filters, size, apply_norm)


def tut_upsample(filters, size, apply_dropout=False):
    return _tut_block(keras.layers.Conv2DTranspose, filters, size, True, apply_dropout, keras.layers.ReLU())


def tut_unet_generator(size):
    depth = int(np.log2(size))
    down = [tut_downsample(64, 4, apply_norm=False)] + [
        tut_downsample(min(64 * 2**i, 512), 4) for i in range(1, depth)
    ]
    up_filters = [min(64 * 2**i, 512) for i in range(depth - 1)][::-1]
    up = [tut_upsample(f, 4, apply_dropout=i < max(0, depth - 5)) for i, f in enumerate(up_filters)]
    last = keras.layers.Conv2DTranspose(
        3,
        4,
        strides=2,
        padding="same",
        kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02),
        activation="tanh",
    )
    inputs = keras.layers.Input(shape=[None, None, 3])
    x = inputs
    skips = []
    for d in down:
        x = d(x)
        skips.append(x)
    skips = reversed(skips[:-1])
    for u, skip in zip(up, skips):
        x = u(x)
        x = keras.layers.Concatenate()([x, skip])
    return keras.Model(inputs=inputs, outputs=last(x))


def tut_discriminator():
    init = keras.initializers.RandomNormal(0.0, 0.02)
    inp = keras.layers.Input(shape=[None, None, 3])
    x = tut_downsample(64, 4, False)(inp)
    x = tut_downsample(128, 4)(x)
    x = tut_downsample(256, 4)(x)
    x = keras.layers.ZeroPadding2D()(x)
    x = keras.layers.Conv2D(512, 4, strides=1, kernel_initializer=init, use_bias=False)(x)
    x = keras.layers.LeakyReLU()(InstanceNormalization()(x))
    x = keras.layers.ZeroPadding2D()(x)
    return keras.Model(inputs=inp, outputs=keras.layers.Conv2D(1, 4, strides=1, kernel_initializer=init)(x))


def make_tutorial_step(size):
    generator_g, generator_f = tut_unet_generator(size), tut_unet_generator(size)
    discriminator_x, discriminator_y = tut_discriminator(), tut_discriminator()
    loss_obj = keras.losses.BinaryCrossentropy(from_logits=True)

    def discriminator_loss(real, generated):
        return (loss_obj(tf.ones_like(real), real) + loss_obj(tf.zeros_like(generated), generated)) * 0.5

    def generator_loss(generated):
        return loss_obj(tf.ones_like(generated), generated)

    def calc_cycle_loss(real_image, cycled_image):
        return LAMBDA * tf.reduce_mean(tf.abs(real_image - cycled_image))

    def identity_loss(real_image, same_image):
        return LAMBDA * 0.5 * tf.reduce_mean(tf.abs(real_image - same_image))

    opts = [keras.optimizers.Adam(2e-4, beta_1=0.5) for _ in range(4)]

    @tf.function
    def train_step(real_x, real_y):
        with tf.GradientTape(persistent=True) as tape:
            fake_y = generator_g(real_x, training=True)
            cycled_x = generator_f(fake_y, training=True)
            fake_x = generator_f(real_y, training=True)
            cycled_y = generator_g(fake_x, training=True)
            same_x = generator_f(real_x, training=True)
            same_y = generator_g(real_y, training=True)
            disc_real_x = discriminator_x(real_x, training=True)
            disc_real_y = discriminator_y(real_y, training=True)
            disc_fake_x = discriminator_x(fake_x, training=True)
            disc_fake_y = discriminator_y(fake_y, training=True)
            gen_g_loss = generator_loss(disc_fake_y)
            gen_f_loss = generator_loss(disc_fake_x)
            total_cycle_loss = calc_cycle_loss(real_x, cycled_x) + calc_cycle_loss(real_y, cycled_y)
            total_gen_g_loss = gen_g_loss + total_cycle_loss + identity_loss(real_y, same_y)
            total_gen_f_loss = gen_f_loss + total_cycle_loss + identity_loss(real_x, same_x)
            disc_x_loss = discriminator_loss(disc_real_x, disc_fake_x)
            disc_y_loss = discriminator_loss(disc_real_y, disc_fake_y)
        pairs = [
            (total_gen_g_loss, generator_g),
            (total_gen_f_loss, generator_f),
            (disc_x_loss, discriminator_x),
            (disc_y_loss, discriminator_y),
        ]
        grads = [tape.gradient(loss, net.trainable_variables) for loss, net in pairs]
        for opt, g, (_, net) in zip(opts, grads, pairs):
            opt.apply_gradients(zip(g, net.trainable_variables))

    return train_step


# ---------------------------------------------------------------------------------------------- data
def dataset(size: int, n: int = 16) -> tf.data.Dataset:
    """``(photo, monet)`` pairs of batch 1 held in memory: real competition images when ../shared is there."""
    rng = np.random.default_rng(0)
    if SHARED.is_dir():
        from stx_tf.data import load_images

        def first(folder):
            return np.stack(list(load_images(SHARED / folder, size=size).take(n).as_numpy_iterator()))

        photo, monet = first("photo_jpg"), first("monet_jpg")
    else:
        photo, monet = (rng.uniform(-1, 1, (n, size, size, 3)).astype("float32") for _ in range(2))
    return tf.data.Dataset.from_tensor_slices((photo, monet)).batch(1).repeat()


def ours(kind: str, size: int, steps_per_execution: int, policy: str = "float32", **options) -> CycleGAN:
    nets = dict(filters=64, image_size=size)
    with precision.policy_scope(policy):
        return _ours(kind, size, steps_per_execution, nets, **options)


def _ours(kind, size, steps_per_execution, nets, **options) -> CycleGAN:
    model = CycleGAN(
        build_generator(kind, **nets),
        build_generator(kind, **nets),
        patchgan_discriminator(),
        patchgan_discriminator(),
        pool_size=0,
        image_size=size,
        **options,
    )
    model.compile(adversarial_loss="bce", steps_per_execution=steps_per_execution)
    return model


def _timed(run, steps) -> tuple[float, float]:
    """``(steps per wall second, CPU seconds per step)``: CPU time is barely affected by other jobs."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return steps / (time.perf_counter() - wall), (time.process_time() - cpu) / steps


def time_ours(model, ds, steps):
    return _timed(lambda: model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0), steps)


def time_tutorial(step, iterator, steps):
    def run():
        for _ in range(steps):
            x, y = next(iterator)
            step(x, y)

    return _timed(run, steps)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=8, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps-per-execution", type=int, default=4)
    parser.add_argument("--no-resnet", action="store_true", help="skip the ResNet-9 timing")
    parser.add_argument("--unstacked", action="store_true",
                        help="also time ours with stack_batches=False (one generator call per batch part)")
    parser.add_argument("--precision", default="float32",
                        help="our nets' policy: float32 (what CPUs without native bf16 run) or auto / bfloat16; "
                        "the tutorial's code always runs in float32")
    args = parser.parse_args(argv)
    print(cpu_line(), "|", load_line(), flush=True)
    keras.utils.set_random_seed(0)
    ds = dataset(args.size)
    steps = args.steps - args.steps % args.steps_per_execution or args.steps_per_execution

    tutorial = make_tutorial_step(args.size)
    iterator = iter(ds)
    policy = precision.resolve(args.precision)
    print(f"ours in {policy}, the tutorial in float32", flush=True)
    unet = ours("unet", args.size, args.steps_per_execution, policy)
    print(f"warm-up (tracing) at {args.size} px ...", flush=True)
    time_tutorial(tutorial, iterator, 2)
    time_ours(unet, ds, args.steps_per_execution)
    rates = {"tutorial": [], "ours_unet": []}
    if args.unstacked:
        unstacked = ours("unet", args.size, args.steps_per_execution, policy, stack_batches=False)
        time_ours(unstacked, ds, args.steps_per_execution)
        rates["ours_unstacked"] = []
    for r in range(args.rounds):
        rates["tutorial"].append(time_tutorial(tutorial, iterator, steps))
        rates["ours_unet"].append(time_ours(unet, ds, steps))
        if args.unstacked:
            rates["ours_unstacked"].append(time_ours(unstacked, ds, steps))
        print(
            f"round {r + 1}: " + ", ".join(f"{k} {v[-1][0]:.3f} steps/s" for k, v in rates.items()),
            flush=True,
        )
    if not args.no_resnet:
        resnet = ours("resnet", args.size, args.steps_per_execution, policy)
        time_ours(resnet, ds, args.steps_per_execution)
        rates["ours_resnet9"] = [time_ours(resnet, ds, steps) for _ in range(args.rounds)]
    # Other jobs share this machine: the best round of each is the least disturbed wall-clock measurement;
    # CPU seconds per step (this process) are nearly independent of them.
    best = {k: max(r for r, _ in v) for k, v in rates.items()}
    median = {k: statistics.median(r for r, _ in v) for k, v in rates.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in rates.items()}
    print(f"\nCycleGAN train steps/s at {args.size} px, batch 1 ({args.rounds} rounds of {steps} steps):")
    for name in rates:
        print(
            f"  {name:13s} best {best[name]:6.3f} steps/s ({1 / best[name]:5.2f} s/step), median {median[name]:6.3f}"
            f", CPU {cpu[name]:5.2f} s/step"
        )
    print(
        f"ratio ours/tutorial, U-Net at equal maths: best {best['ours_unet'] / best['tutorial']:.2f}x, "
        f"median {median['ours_unet'] / median['tutorial']:.2f}x, CPU time {cpu['tutorial'] / cpu['ours_unet']:.2f}x"
    )
    if "ours_resnet9" in best:
        print(
            f"ResNet-9 generator (the paper's): best {best['ours_resnet9']:.3f} steps/s "
            f"({best['ours_resnet9'] / best['tutorial']:.2f}x the tutorial's U-Net speed)"
        )


if __name__ == "__main__":
    main()
