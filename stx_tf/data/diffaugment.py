"""DiffAugment: differentiable augmentation applied to real *and* fake batches in train steps.

Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training",
https://arxiv.org/abs/2006.10738. With only 300 Monet paintings the discriminator over-fits; showing it
the same random colour / translation / cutout on real and generated images fixes that while gradients
still flow to the generator. Images are ``(B, H, W, C)`` floats in ``[-1, 1]``.

Written in ``keras.ops`` with ``keras.random`` draws from a seed generator the model owns (its state is
checkpointed and threaded through JAX's stateless step), so it runs inside train steps on either backend.
"""

from __future__ import annotations

import keras
from keras import ops


def _uniform(x, seed, low=0.0, high=1.0):
    return ops.cast(keras.random.uniform((ops.shape(x)[0], 1, 1, 1), low, high, seed=seed), x.dtype)


def brightness(x, seed=None):
    return x + _uniform(x, seed, -0.5, 0.5)


def saturation(x, seed=None):
    mean = ops.mean(x, axis=3, keepdims=True)
    return (x - mean) * _uniform(x, seed, 0.0, 2.0) + mean


def contrast(x, seed=None):
    mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * _uniform(x, seed, 0.5, 1.5) + mean


def color(x, seed=None):
    """Random brightness, saturation and contrast per image."""
    return contrast(saturation(brightness(x, seed), seed), seed)


def _offsets(batch, limit: int, seed):
    """``(B, 1)`` integers uniform in ``[-limit, limit]``."""
    draw = keras.random.uniform((batch, 1), 0.0, 1.0, seed=seed)
    return ops.cast(ops.floor(draw * (2 * limit + 1)), "int32") - limit


def translation(x, ratio: float = 0.125, seed=None):
    """Shift each image by up to ``ratio`` of its size, zero-filling (a differentiable gather)."""
    batch, height, width, channels = ops.shape(x)
    dy = _offsets(batch, int(height * ratio + 0.5), seed)
    dx = _offsets(batch, int(width * ratio + 0.5), seed)
    rows = ops.arange(height, dtype="int32")[None, :] + dy  # (B, H)
    cols = ops.arange(width, dtype="int32")[None, :] + dx  # (B, W)
    row_idx = ops.broadcast_to(ops.clip(rows, 0, height - 1)[:, :, None, None], (batch, height, width, channels))
    x = ops.take_along_axis(x, row_idx, axis=1)
    col_idx = ops.broadcast_to(ops.clip(cols, 0, width - 1)[:, None, :, None], (batch, height, width, channels))
    x = ops.take_along_axis(x, col_idx, axis=2)
    row_ok = ops.cast((rows >= 0) & (rows < height), x.dtype)
    col_ok = ops.cast((cols >= 0) & (cols < width), x.dtype)
    return x * row_ok[:, :, None, None] * col_ok[:, None, :, None]


def cutout(x, ratio: float = 0.5, seed=None):
    """Zero a random ``ratio``-sized square per image."""
    batch, height, width, _ = ops.shape(x)
    cut_h, cut_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    cy = ops.cast(keras.random.uniform((batch, 1), 0.0, 1.0, seed=seed) * (height + 1 - cut_h % 2), "int32")
    cx = ops.cast(keras.random.uniform((batch, 1), 0.0, 1.0, seed=seed) * (width + 1 - cut_w % 2), "int32")
    rows = ops.arange(height, dtype="int32")[None, :]
    cols = ops.arange(width, dtype="int32")[None, :]
    in_rows = (rows >= cy - cut_h // 2) & (rows < cy - cut_h // 2 + cut_h)  # (B, H)
    in_cols = (cols >= cx - cut_w // 2) & (cols < cx - cut_w // 2 + cut_w)  # (B, W)
    hole = ops.logical_and(in_rows[:, :, None], in_cols[:, None, :])
    return x * ops.cast(ops.logical_not(hole), x.dtype)[..., None]


POLICIES = {"color": color, "translation": translation, "cutout": cutout}


def check_policy(policy: str | None) -> list[str]:
    """The names of a comma-separated policy; a ``ValueError`` for an unknown name."""
    names = [p.strip() for p in (policy or "").split(",") if p.strip()]
    for name in names:
        if name not in POLICIES:
            raise ValueError(f"unknown DiffAugment policy {name!r}; choose from {', '.join(POLICIES)}")
    return names


def diff_augment(x, policy: str = "color,translation,cutout", seed=None):
    """Apply the comma-separated ``policy`` (``color``, ``translation``, ``cutout``) to a batch.

    Args:
        x: ``(B, H, W, C)`` images (static spatial shape).
        policy: the augmentations, in order.
        seed: a ``keras.random.SeedGenerator`` (a train step passes its own; ``None``: Keras' global one,
            fine eagerly, not inside a compiled JAX step).

    Raises:
        ValueError: an unknown policy name.
    """
    for name in check_policy(policy):
        x = POLICIES[name](x, seed=seed)
    return x
