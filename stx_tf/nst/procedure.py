"""Gatys' procedure: load the images, optimise at each scale, report per epoch (:func:`stylize`)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from keras import ops

from stx_tf import settings
from stx_tf.data.imageops import match_luminance, resize, rgb_to_yiq, yiq_to_rgb
from stx_tf.nst.config import MIN_SIZE, StylizeConfig
from stx_tf.nst.objective import StyleObjective, extractor
from stx_tf.nst.optimisers import RUNNERS

log = settings.get_logger("stx_tf.nst")


class LossDivergedError(ValueError):
    """The loss became NaN or infinite; ``image`` holds the last image with a finite loss."""

    def __init__(self, message: str, image: np.ndarray | None = None):
        super().__init__(message)
        self.image = image


@dataclass
class StylizeResult:
    """What :func:`stylize` returns."""

    image: np.ndarray  # float32 (H, W, 3) in [0, 1]
    history: list[float]  # loss before each optimisation step, all scales, as the steps compute it
    epoch_losses: list[float]  # float32 loss of the image after each epoch (full scale)
    frames: list[np.ndarray] = field(repr=False)  # uint8 image after each epoch
    seconds: float
    steps: int
    stopped_early: bool = False
    config: StylizeConfig | None = field(default=None, repr=False)

    @property
    def final_loss(self) -> float:
        return self.epoch_losses[-1] if self.epoch_losses else float("nan")

    def save(self, path) -> Path:
        """Save the image (PNG/JPEG by suffix), atomically."""
        from stx_tf.data.images import save_image

        return save_image(self.image, path)


# ----------------------------------------------------------------------------------------- callbacks
class Callback:
    """Hooks called by :func:`stylize`; ``on_epoch_end`` returning True stops the run. ``Callback(fn)``
    calls ``fn(epoch, image, loss)`` after each epoch."""

    def __init__(self, fn: Callable | None = None):
        self.fn = fn

    def on_epoch_end(self, epoch: int, image: np.ndarray, loss: float) -> bool | None:
        return self.fn(epoch, image, loss) if getattr(self, "fn", None) else None

    def on_end(self, result: StylizeResult) -> None:
        return None


class FrameSaver(Callback):
    """Save each epoch's image as ``folder/epoch_001.png`` … and/or an animated GIF at the end.

    Args:
        folder: where the PNG frames go (``None``: no frames on disk).
        gif: path of the animated GIF (``None``: no GIF); written via :func:`stx_tf.viz.save_gif`.
        duration_ms: GIF frame duration.
    """

    def __init__(self, folder=None, gif=None, duration_ms: int = 300):
        self.folder = Path(folder) if folder else None
        self.gif = Path(gif) if gif else None
        self.duration_ms = duration_ms
        self.paths: list[Path] = []

    def on_epoch_end(self, epoch, image, loss):
        if self.folder is not None:
            from stx_tf.data.images import save_image

            self.paths.append(save_image(image, self.folder / f"epoch_{epoch:03d}.png"))

    def on_end(self, result):
        if self.gif is not None and result.frames:
            from stx_tf.viz import save_gif

            save_gif(result.frames, self.gif, duration_ms=self.duration_ms)
            log.info("GIF of %d frames written to %s", len(result.frames), self.gif)


class StopAtLoss(Callback):
    """Stop as soon as an epoch ends with a loss at or below ``target`` (benchmarks, budgets)."""

    def __init__(self, target: float):
        self.target = float(target)
        self.reached_after: float | None = None
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, image, loss):
        if loss <= self.target:
            self.reached_after = time.perf_counter() - self._start
            return True
        return None


def _load(source, max_dim: int, label: str) -> np.ndarray:
    """:func:`stx_tf.data.load_image` plus a check that downscaling left at least 32 px."""
    from stx_tf.data.images import load_image

    name = label if isinstance(source, np.ndarray) else None
    image = load_image(source, max_dim=max_dim, min_dim=MIN_SIZE, name=name)
    if min(image.shape[:2]) < MIN_SIZE:
        raise ValueError(
            f"{name or source}: {image.shape[1]}x{image.shape[0]} after downscaling to max_dim={max_dim} is "
            f"thinner than {MIN_SIZE} px; crop it or raise max_dim"
        )
    return image


def _load_styles(style, max_dim: int) -> list[np.ndarray]:
    if isinstance(style, str | Path | bytes | bytearray | np.ndarray):
        style = [style]
    if not style:
        raise ValueError("no style image given")
    return [_load(s, max_dim, f"style[{i}]") for i, s in enumerate(style)]


# ------------------------------------------------------------------------------------------ stylize
def _scaled(image: np.ndarray, factor: float) -> np.ndarray:
    """``image`` resized by ``factor``, but never below the networks' 32 px minimum."""
    factor = max(factor, MIN_SIZE / min(image.shape[:2]))
    return resize(image, round(image.shape[0] * factor), round(image.shape[1] * factor))


class _Level:
    """One scale of the optimisation: prepared inputs and the objective."""

    def __init__(self, cfg, content, styles, style_image_weights, factor):
        self.content = _scaled(content, factor)
        styles = [_scaled(s, factor) for s in styles]
        self.color = None
        if cfg.preserve_color:
            yiq = rgb_to_yiq(self.content)
            self.color = yiq[..., 1:]
            luminance = yiq[..., :1]
            styles = [match_luminance(rgb_to_yiq(s)[..., :1], luminance) for s in styles]
            styles = [np.repeat(s, 3, axis=-1) for s in styles]
            net_content = np.repeat(luminance, 3, axis=-1)
        else:
            net_content = self.content
        self.objective = StyleObjective(
            extractor(cfg),
            net_content,
            styles,
            cfg,
            style_image_weights,
            step_extractor=extractor(cfg, cfg.precision),
        )
        self.styles = styles

    def to_variable_space(self, rgb: np.ndarray) -> np.ndarray:
        """An RGB image at this scale -> the optimised array (RGB, or luminance with preserve_color)."""
        rgb = resize(rgb, *self.content.shape[:2])
        return rgb_to_yiq(rgb)[..., :1] if self.color is not None else rgb

    def to_rgb(self, x: np.ndarray) -> np.ndarray:
        if self.color is None:
            return np.clip(x, 0.0, 1.0)
        return yiq_to_rgb(np.concatenate([np.clip(x, 0.0, 1.0), self.color], axis=-1))


def _initial_image(cfg, content, styles, style_weights, rng) -> np.ndarray:
    if cfg.init == "instant":  # one pass of Magenta's arbitrary-style networks (Ghiasi et al. 2017)
        from stx_tf import arbitrary

        strength = min(max(cfg.style_strength, 0.0), 1.0)
        return arbitrary.paint(
            content, styles, strength, weights=style_weights, paint_size=None, model=cfg.instant_model
        )
    if cfg.init == "content":
        return content.copy()
    if cfg.init == "style":
        return resize(styles[0], *content.shape[:2])
    return rng.uniform(0.0, 1.0, size=content.shape).astype(np.float32)


def stylize(
    content,
    style,
    config: StylizeConfig | None = None,
    *,
    style_weights: Sequence[float] | None = None,
    callbacks: Sequence[Callback | Callable] = (),
    verbose: int = 1,
    **overrides,
) -> StylizeResult:
    """Paint ``content`` in the style of ``style`` (Gatys et al.).

    Args:
        content: the photo: a path, bytes, or an array (uint8, or float in [0, 1]; grey and RGBA are
            converted to RGB). Images larger than ``max_dim`` are downscaled (with a message).
        style: one style image or a list of them (same kinds as ``content``).
        config: a :class:`StylizeConfig`; keyword ``overrides`` replace its fields
            (e.g. ``stylize(c, s, backbone="squeezenet", steps_per_epoch=50)``).
        style_weights: relative weights of several style images (default equal).
        callbacks: :class:`Callback` objects or functions ``f(epoch, image, loss)`` called after each epoch;
            returning True stops. :class:`FrameSaver` writes frames and a GIF.
        verbose: 1 shows a progress bar, 0 is silent.

    Returns:
        A :class:`StylizeResult` (``image``, ``history`` of losses, ``frames`` per epoch, timings).

    Raises:
        ValueError: unreadable image, image under 32 px, bad configuration.
        LossDivergedError: the loss became NaN/inf (a ``ValueError``; ``err.image`` is the last good image).
    """

    cfg = dataclasses.replace(config or StylizeConfig(), **overrides).resolved()
    callbacks = [cb if isinstance(cb, Callback) else Callback(cb) for cb in callbacks]
    content_img = _load(content, cfg.max_dim, "content")
    styles = _load_styles(style, max(MIN_SIZE, round(cfg.max_dim * cfg.style_scale)))
    rng = np.random.default_rng(cfg.seed)
    start = time.perf_counter()

    total = cfg.epochs * cfg.steps_per_epoch
    coarse = max(1, cfg.coarse_steps if cfg.coarse_steps is not None else total // 2)
    factors = [0.5**k for k in range(cfg.multiscale - 1, -1, -1)]
    factors = [f for f in factors if min(content_img.shape[:2]) * f >= MIN_SIZE] or [1.0]
    if len(factors) < cfg.multiscale:
        log.info("multiscale: using %d scale(s); smaller ones would be under 32 px", len(factors))
    progress = _Progress(coarse * (len(factors) - 1) + total, verbose)
    current = _initial_image(cfg, content_img, styles, style_weights, rng)
    epoch_losses: list[float] = []
    frames: list[np.ndarray] = []
    stopped = False
    for factor in factors:
        level = _Level(cfg, content_img, styles, style_weights, factor)
        final = factor == factors[-1]
        schedule = [cfg.steps_per_epoch] * cfg.epochs if final else [coarse]
        x, stopped = _optimise(
            level,
            level.to_variable_space(current),
            schedule,
            cfg,
            progress,
            callbacks,
            final,
            epoch_losses,
            frames,
        )
        current = level.to_rgb(x)
    result = StylizeResult(
        image=current,
        history=progress.history,
        epoch_losses=epoch_losses,
        frames=frames,
        seconds=time.perf_counter() - start,
        steps=len(progress.history),
        stopped_early=stopped,
        config=cfg,
    )
    for cb in callbacks:
        cb.on_end(result)
    return result


def _check_finite(values, step0: int, cfg: StylizeConfig, last_good: np.ndarray) -> None:
    values = np.asarray(values, np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise LossDivergedError(
            f"the loss became {values[bad[0]]} at step {step0 + int(bad[0]) + 1}; stopped. Lower the learning "
            f"rate (now {cfg.learning_rate}) or the style/content/tv weights (now {cfg.style_weight}, "
            f"{cfg.content_weight}, {cfg.tv_weight}); the last finite image is in the error's .image",
            image=last_good,
        )


class _Progress:
    """Loss history plus a Keras progress bar over all steps of all scales."""

    def __init__(self, total: int, verbose: int):
        self.history: list[float] = []
        self.bar = keras.utils.Progbar(total, verbose=verbose, stateful_metrics=["loss"])

    def add(self, values) -> None:
        self.history.extend(values)
        if values:
            self.bar.update(len(self.history), values=[("loss", values[-1])])


def _optimise(
    level: _Level, x, epochs, cfg, progress: _Progress, callbacks, final: bool, epoch_losses, frames
):
    """Run ``len(epochs)`` epochs of ``epochs[i]`` steps at one scale; returns ``(x, stopped)``.

    At the final scale each epoch's loss and frame are recorded and the callbacks run. The loss of an
    epoch's image is the float32 objective: with float32 steps it is the loss the next step computes
    before its update (the same function, to rounding: no extra forward pass per epoch; the next epoch's
    first step runs alone so that stopping there costs one step, which is then not counted); with
    bfloat16 steps, and after the last epoch, it is evaluated separately.
    """
    import tensorflow as tf

    objective = level.objective
    variable = keras.Variable(x[None], dtype="float32", trainable=True, name="stylized")
    run = RUNNERS[cfg.optimizer](objective, variable, cfg, total_steps=sum(epochs))
    evaluate = tf.function(objective.__call__, autograph=False)  # compiled once
    from_next_step = final and cfg.precision == "float32"
    pending = None  # (epoch, image) of the epoch whose loss the next step reports
    last_good = level.to_rgb(x)

    def record(epoch, image, loss) -> bool:  # True: a callback stops the run
        rgb = level.to_rgb(image)
        epoch_losses.append(loss)
        frames.append((rgb * 255.0 + 0.5).astype(np.uint8))
        return any([cb.on_epoch_end(epoch, rgb, loss) for cb in callbacks])

    for epoch, steps in enumerate(epochs, start=1):
        done = 0
        while done < steps:
            n = 1 if pending is not None else min(cfg.steps_per_call, steps - done)
            chunk = ops.convert_to_numpy(run(ops.convert_to_tensor(n, "int32"))).tolist()
            _check_finite(chunk, len(progress.history), cfg, last_good)
            progress.add(chunk)
            done += n
            if pending is not None:  # chunk[0]: the loss of the previous epoch's image
                (previous, image), pending = pending, None
                last_good = level.to_rgb(image)
                if record(previous, image, chunk[0]):
                    progress.history.pop()  # that step's update is not in the returned image
                    return image, True
        x = ops.convert_to_numpy(variable.value)[0]
        if not final:
            last_good = level.to_rgb(x)
            continue
        if from_next_step and epoch < len(epochs):
            pending = (epoch, x)
            continue
        loss = _epoch_loss(evaluate, x)
        _check_finite([loss], len(progress.history), cfg, last_good)
        last_good = level.to_rgb(x)
        if record(epoch, x, loss):
            return x, True
    return x, False


def _epoch_loss(evaluate, image: np.ndarray) -> float:
    """The float32 objective of ``image`` (``(H, W, C)``), evaluated separately."""
    return float(evaluate(ops.convert_to_tensor(image[None])))
