"""The demo's logic without any web framework: one :class:`Studio` turns a request into a painting.

:meth:`Studio.paint` is the whole pipeline (validate, resize, run the painter, apply strength and colour
preservation, time limit) and is what the tests call. :meth:`Studio.paint_events` runs the same thing on
the studio's bounded worker pool and yields :class:`Progress` events, then the :class:`PaintResult`: the
Gradio page (:mod:`stx_tf.app.ui`) only forwards these to the browser.

Example::

    from stx_tf.app import Studio, PaintRequest
    studio = Studio(models_dir="models")
    result = studio.paint(PaintRequest(photo="photo.jpg", painter=studio.painters[0].key))
    result.save("painted.png")
"""

from __future__ import annotations

import math
import queue
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stx_tf import settings
from stx_tf.app.limits import Limits, check_header, fetch_url, read_photo, url_name
from stx_tf.app.painters import GATYS_KEY, ModelCache, Painter, discover_painters, run_instant
from stx_tf.data.images import IMAGE_SUFFIXES

log = settings.get_logger("stx_tf.app")

#: Gatys steps between two progress updates (one ``stylize`` epoch each).
PROGRESS_EVERY = 10


class PaintTimeout(RuntimeError):
    """A painting ran past the per-request time limit."""


@dataclass
class PaintRequest:
    """What a person asks for.

    Attributes:
        photo: path or bytes of the photo (validated by :func:`stx_tf.app.limits.read_photo`), or ``None``
            with ``url`` set.
        painter: a :attr:`Painter.key` (see :attr:`Studio.painters`).
        style: path or bytes of the style image (the "any painting" painters).
        url: an image URL, fetched when ``photo`` is ``None``.
        strength: 0 = the photo, 1 = the painter's full style (any painting: the photo's own style vector or
            Gram matrices blended with the painting's; trained painters: a pixel mix).
        size: longer side of the result in pixels (clamped to ``[64, limits.max_output]``).
        preserve_colors: keep the photo's colours, take only the painter's luminance.
        steps: Gatys optimisation steps (clamped to ``[1, limits.max_steps]``).
    """

    photo: object = None
    painter: str = GATYS_KEY
    style: object = None
    url: str | None = None
    strength: float = 1.0
    size: int = 512
    preserve_colors: bool = False
    steps: int = 100


@dataclass
class Progress:
    """A progress event: ``fraction`` in [0, 1], a message, the current image (Gatys) and, once, the
    resized photo (for a before/after view while Gatys runs)."""

    fraction: float
    message: str
    preview: np.ndarray | None = None
    photo: np.ndarray | None = None


@dataclass
class PaintResult:
    """A finished painting: ``image`` and ``photo`` (the resized input) are uint8 ``(H, W, 3)``."""

    image: np.ndarray
    photo: np.ndarray
    painter: Painter
    seconds: float
    message: str
    name: str = "painting"

    def save(self, path) -> Path:
        """Save the painting (PNG/JPEG by suffix), atomically."""
        from stx_tf.data.images import save_image

        return save_image(self.image, path)


def resize_longer(image: np.ndarray, size: int) -> np.ndarray:
    """Resize uint8 RGB so that its longer side is ``size`` (aspect kept, antialiased)."""
    from PIL import Image

    height, width = image.shape[:2]
    scale = size / max(height, width)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    if new == (width, height):
        return image
    return np.asarray(Image.fromarray(image).resize(new, Image.LANCZOS))


def blend(photo: np.ndarray, painted: np.ndarray, strength: float, preserve_colors: bool) -> np.ndarray:
    """Post-process an instant painting (floats in [0, 1]): colour preservation, then the strength mix.

    ``preserve_colors`` keeps the painting's luminance with the photo's chrominance (YIQ,
    :func:`stx_tf.data.imageops.keep_colours`); ``strength`` mixes ``strength · painting + (1 - strength) · photo``.
    """
    from stx_tf.data.imageops import keep_colours

    out = keep_colours(painted, photo) if preserve_colors else painted
    strength = float(np.clip(strength, 0.0, 1.0))
    return np.clip(strength * out + (1.0 - strength) * photo, 0.0, 1.0)


def _to_float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


def _to_uint8(image: np.ndarray) -> np.ndarray:
    from stx_tf.viz import to_uint8

    return to_uint8(image)


class Studio:
    """Painters, limits, loaded models and a bounded worker pool: everything behind the page.

    Args:
        models_dir: folder with fast-style presets / CycleGAN generators (default
            :func:`stx_tf.settings.models_dir`).
        limits: a :class:`Limits` (defaults otherwise).
        backbone: Gatys feature network (``"squeezenet"``: fast on a CPU; ``"vgg19"``: the paper's).
        weights: backbone weights for Gatys: ``"imagenet"`` (the ``STX_*_WEIGHTS`` file or a download), a
            local file, or ``None`` (random: tests). Default: what :func:`stx_tf.nst.recommended_config`
            picks (random weights in smoke mode).
        gatys_overrides: extra :class:`stx_tf.nst.StylizeConfig` fields for Gatys.
        arbitrary_model: the instant any-painting model: a path, ``"auto"`` (looked for where
            :func:`stx_tf.arbitrary.find_model` looks, no download) or ``None`` (not offered).
    """

    def __init__(
        self,
        models_dir=None,
        limits: Limits | None = None,
        backbone: str | None = None,
        weights="default",
        gatys_overrides: dict | None = None,
        arbitrary_model="auto",
    ):
        self.models_dir = Path(models_dir) if models_dir is not None else settings.models_dir()
        self.limits = limits or Limits()
        self.backbone = backbone
        self.weights = weights
        self.gatys_overrides = dict(gatys_overrides or {})
        self.arbitrary_model = arbitrary_model
        self.painters: list[Painter] = discover_painters(self.models_dir, arbitrary=arbitrary_model)
        self.models = ModelCache()
        self._pool = ThreadPoolExecutor(self.limits.concurrency, thread_name_prefix="stx-paint")
        self._out_dir = Path(tempfile.mkdtemp(prefix="stx-app-"))
        # Removed by close(), or when the studio is garbage-collected / the interpreter exits.
        self._remove_files = weakref.finalize(self, shutil.rmtree, self._out_dir, True)
        log.info(
            "painters: %s",
            ", ".join(p.label for p in self.painters) or "none",
        )

    # ------------------------------------------------------------------------------------ painters
    def refresh(self) -> list[Painter]:
        """Scan the models folder again (new presets appear without a restart)."""
        self.painters = discover_painters(self.models_dir, arbitrary=self.arbitrary_model)
        return self.painters

    def warm_up(self) -> None:
        """Load and compile the first instant painters (as many as the model cache keeps) on a tiny image,
        so the first person does not wait for it; a painter that fails to load is logged, not raised."""
        for painter in [p for p in self.painters if p.instant][: self.models.size]:
            try:
                run_instant(painter, self.models.get(painter), np.zeros((384, 512, 3), np.float32))
            except Exception as err:  # a broken file must not stop the server; its requests will say why
                log.warning("%s: cannot be used (%s)", painter.label, err)

    def painter(self, key: str) -> Painter:
        for painter in self.painters:
            if key in (painter.key, painter.label):
                return painter
        raise ValueError(f"unknown painter {key!r}; available: {', '.join(p.label for p in self.painters)}")

    def gatys_config(self, steps: int, size: int, strength: float, preserve_colors: bool):
        """The :class:`stx_tf.nst.StylizeConfig` of one Gatys request (progress every few steps)."""
        from stx_tf import nst

        overrides = dict(self.gatys_overrides)
        if self.backbone:
            overrides["backbone"] = self.backbone
        if self.weights != "default":
            overrides["weights"] = self.weights
        chunk = min(PROGRESS_EVERY, steps)
        return nst.recommended_config(
            **{
                **overrides,
                "max_dim": size,
                "steps_per_epoch": chunk,
                "epochs": math.ceil(steps / chunk),
                "steps_per_call": chunk,
                "style_strength": strength,
                "preserve_color": preserve_colors,
            }
        )

    # ---------------------------------------------------------------------------------------- paint
    def load_photo(self, request: PaintRequest) -> tuple[np.ndarray, str]:
        """The request's photo as validated uint8 RGB, and a name for it."""
        if request.photo is not None:
            name = "the photo" if isinstance(request.photo, bytes | bytearray) else Path(request.photo).name
            return read_photo(request.photo, self.limits, name=name), Path(name).stem
        if request.url and request.url.strip():
            name = url_name(request.url)
            return read_photo(fetch_url(request.url, self.limits), self.limits, name=name), Path(name).stem
        raise ValueError("no photo: upload one or give an image URL")

    def paint(
        self, request: PaintRequest, on_progress: Callable[[Progress], None] | None = None
    ) -> PaintResult:
        """Run one request in this thread; see :class:`PaintRequest`.

        Raises:
            ValueError: anything wrong with the request (the message is meant for the person).
            PaintTimeout: an instant painter took longer than ``limits.time_limit``.
        """
        start = time.perf_counter()
        deadline = start + self.limits.time_limit
        report = on_progress or (lambda event: None)
        painter = self.painter(request.painter)
        size = int(np.clip(request.size, 64, self.limits.max_output))
        photo, stem = self.load_photo(request)
        photo = resize_longer(photo, size)
        name = f"{stem}_{Path(painter.key).stem}".replace(" ", "_")
        report(Progress(0.05, "photo ready", photo=photo))
        if painter.needs_style:
            if request.style is None:
                raise ValueError("'any painting' needs a style image: upload the painting to imitate")
            style = read_photo(request.style, self.limits, name="the style image")
        if painter.kind == "gatys":
            image, message = self._gatys(photo, style, request, size, deadline, report)
        else:
            report(Progress(0.1, f"painting with {painter.label}"))
            model = self.models.get(painter)
            strength = float(np.clip(request.strength, 0.0, 1.0))
            if painter.kind == "arbitrary":  # strength and colours: on the style vector / by the painter
                image = run_instant(
                    painter, model, photo, style, strength=strength, preserve_colors=request.preserve_colors
                )
            else:
                painted = run_instant(painter, model, _to_float(photo))
                image = blend(_to_float(photo), painted, strength, request.preserve_colors)
            if time.perf_counter() > deadline:
                raise PaintTimeout(f"the painting took over the {self.limits.time_limit:g} s limit")
            message = painter.label.split(" (")[0]
        seconds = time.perf_counter() - start
        height, width = image.shape[:2]
        message = f"Done: {message}, {width}×{height} px in {seconds:.1f} s."
        return PaintResult(_to_uint8(image), photo, painter, seconds, message, name)

    def _gatys(self, photo, style, request: PaintRequest, size, deadline, report):
        from stx_tf import nst

        steps = int(np.clip(request.steps, 1, self.limits.max_steps))
        chunk = min(PROGRESS_EVERY, steps)
        steps = math.ceil(steps / chunk) * chunk  # whole progress chunks: the count reported is the count run
        cfg = self.gatys_config(
            steps, size, float(np.clip(request.strength, 0.0, 2.0)), request.preserve_colors
        )
        total = cfg.epochs
        state = {"stopped": False, "steps": 0}
        report(Progress(0.06, f"Gatys: preparing {cfg.backbone} features"))

        def on_epoch(epoch, image, loss):
            state["steps"] = epoch * cfg.steps_per_epoch
            report(Progress(epoch / total, f"Gatys: step {state['steps']} of {steps}", image))
            if time.perf_counter() > deadline and epoch < total:
                state["stopped"] = True
                return True
            return None

        try:
            result = nst.stylize(_to_float(photo), _to_float(style), cfg, callbacks=[on_epoch], verbose=0)
        except RuntimeError as err:  # weights could not be found / downloaded
            raise ValueError(str(err)) from None
        message = f"any painting (Gatys, {cfg.backbone}, {state['steps']} steps)"
        if state["stopped"]:
            message += f", stopped at the {self.limits.time_limit:g} s time limit"
        return result.image, message

    # ---------------------------------------------------------------------------- bounded running
    def paint_events(self, request: PaintRequest) -> Iterator[Progress | PaintResult]:
        """Run :meth:`paint` on the worker pool, yielding :class:`Progress` events then the result.

        At most ``limits.concurrency`` paintings run at once; more wait for a worker. Exceptions of
        :meth:`paint` are raised here. A painting still running ``time_limit`` (plus a grace for Gatys to
        stop at its next progress point) after it started raises :class:`PaintTimeout`; it keeps its worker
        until it ends, so a stuck model cannot make the server start more work than its concurrency.
        """
        events: queue.Queue = queue.Queue()
        started = threading.Event()

        def job():
            started.set()
            return self.paint(request, on_progress=events.put)

        future = self._pool.submit(job)
        yield Progress(0.0, "waiting for a free painter…" if not started.wait(0.05) else "starting…")
        started.wait()
        # Gatys stops itself at the limit, at its next progress point: give it that much grace.
        grace = 0.2 * self.limits.time_limit + 10.0 if request.painter == GATYS_KEY else 0.0
        limit = self.limits.time_limit + grace
        begin = time.perf_counter()
        while True:
            try:
                yield events.get(timeout=0.1)
                continue
            except queue.Empty:
                pass
            if future.done():
                while not events.empty():
                    yield events.get_nowait()
                yield future.result()
                return
            if time.perf_counter() - begin > limit:
                raise PaintTimeout(
                    f"the painting did not finish within the {self.limits.time_limit:g} s limit; "
                    "try a smaller output size or fewer steps"
                )

    def fetch_to_file(self, url: str) -> Path:
        """Download an image URL, validate it, and store it as a file (to show it in the photo box)."""
        data = fetch_url(url, self.limits)
        name = url_name(url)
        read_photo(data, self.limits, name=name)
        fmt = check_header(data, name, self.limits)[0]
        if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
            name = f"{name}.{'jpg' if fmt in ('JPEG', 'MPO') else fmt.lower()}"
        path = self._out_dir / uuid.uuid4().hex / name
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        return path

    def save_for_download(self, result: PaintResult, keep_seconds: float = 3600.0) -> Path:
        """Write ``result`` as a PNG under the studio's temporary folder (old files are removed).

        Fast zlib level 1: about a fifth of the default's time (which was most of an instant painting's
        wait) for a file a little larger; the pixels are the same.
        """
        from PIL import Image

        from stx_tf.atomic import atomic_path

        now = time.time()
        for old in self._out_dir.iterdir():
            if now - old.stat().st_mtime > keep_seconds:
                shutil.rmtree(old, ignore_errors=True)
        path = self._out_dir / uuid.uuid4().hex / f"{result.name}.png"
        with atomic_path(path) as tmp:
            Image.fromarray(result.image).save(tmp, format="PNG", compress_level=1)
        return path

    def close(self) -> None:
        """Stop the workers (after the running paintings) and delete the temporary files."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._remove_files()

    def describe(self) -> str:
        trained = sum(p.instant and p.kind != "arbitrary" for p in self.painters)
        quick = "instant or " if any(p.kind == "arbitrary" for p in self.painters) else ""
        return (
            f"{trained} trained painter{'s' if trained != 1 else ''} + any painting ({quick}best quality). "
            f"{self.limits.describe()}"
        )
