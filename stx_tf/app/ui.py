"""The Gradio page: layout and wiring only; every decision is in :class:`stx_tf.app.studio.Studio`.

Needs the optional extra ``pip install "stx_tf[app]"`` (Gradio 6).
"""

from __future__ import annotations

import sys
import threading

import gradio as gr

from stx_tf.app.limits import Limits
from stx_tf.app.studio import PaintRequest, PaintResult, PaintTimeout, Progress, Studio
from stx_tf.settings import get_logger, smoke

log = get_logger("stx_tf.app")

TITLE = "stx_tf painter"
INTRO = """# stx_tf painter
Turn a photo into a painting. **1.** Upload a photo (or paste an image URL and press *Fetch*).
**2.** Pick a painter: *any painting — instant* copies the style of a painting you upload in one pass
(Ghiasi et al.); *best quality* optimises the picture (Gatys et al.), which takes a while; trained painters
are instant too. **3.** Press **Paint**, compare with the slider, download."""

CSS = """
.gradio-container {max-width: 1180px !important; margin: auto;}
#status {min-height: 2.6em; padding: 0.5em 0.9em; border-radius: var(--radius-lg);
         background: var(--block-background-fill); border: 1px solid var(--border-color-primary);}
#paint-button {font-size: 1.1em;}
footer {display: none !important;}
"""


def _file(payload) -> str | None:
    """The server-side path of an uploaded file as the event receives it with ``preprocess=False``.

    (Gradio still checks and caches the upload; skipping ``gr.Image``'s own preprocessing keeps it from
    opening the file with PIL before :func:`stx_tf.app.limits.read_photo` has checked it.)
    """
    if isinstance(payload, dict):
        return payload.get("path")
    return payload


def _error(text: str) -> str:
    return f"**Could not paint.** {text}"


def build_app(studio: Studio) -> gr.Blocks:
    """The page for ``studio`` (not launched). See :func:`launch`."""
    limits = studio.limits
    choices = [(p.label, p.key) for p in studio.painters]
    first = studio.painters[0]
    default_size = min(smoke(512, 128), limits.max_output)
    default_steps = min(smoke(100, 10), limits.max_steps)

    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                photo = gr.Image(
                    label="Your photo",
                    type="filepath",
                    sources=["upload", "clipboard"],
                    height=300,
                    elem_id="photo",
                )
                with gr.Row():
                    url = gr.Textbox(
                        label="…or an image URL",
                        placeholder="https://example.org/photo.jpg",
                        scale=5,
                        elem_id="url",
                    )
                    fetch = gr.Button("Fetch", scale=1, min_width=80, elem_id="fetch")
                painter = gr.Dropdown(choices=choices, value=first.key, label="Painter", elem_id="painter")
                style = gr.Image(
                    label="Style image: the painting to imitate",
                    type="filepath",
                    sources=["upload", "clipboard"],
                    height=200,
                    visible=first.needs_style,
                    elem_id="style",
                )
                steps = gr.Slider(
                    10,
                    limits.max_steps,
                    value=default_steps,
                    step=10,
                    label="Steps (more: stronger style, slower)",
                    visible=first.kind == "gatys",
                    elem_id="steps",
                )
                paint = gr.Button("Paint", variant="primary", size="lg", elem_id="paint-button")
                with gr.Accordion("Settings", open=True):
                    strength = gr.Slider(
                        0.0, 1.0, value=1.0, step=0.05, label="Style strength", elem_id="strength"
                    )
                    size = gr.Slider(
                        64,
                        limits.max_output,
                        value=default_size,
                        step=32,
                        label="Output size (longer side, px)",
                        elem_id="size",
                    )
                    preserve = gr.Checkbox(
                        label="Preserve the photo's colours", value=False, elem_id="preserve"
                    )
            with gr.Column(scale=6):
                result = gr.ImageSlider(
                    label="Before / after (drag the handle)",
                    type="numpy",
                    interactive=False,
                    elem_id="result",
                    buttons=["fullscreen"],
                    max_height=560,
                )
                status = gr.Markdown("Ready.", elem_id="status")
                download = gr.DownloadButton("Download the painting (PNG)", visible=False, elem_id="download")
        gr.Markdown(f"<small>{studio.describe()}</small>", elem_id="limits")

        def on_painter(key):
            chosen = studio.painter(key)
            return gr.update(visible=chosen.needs_style), gr.update(visible=chosen.kind == "gatys")

        def on_fetch(address):
            try:
                return studio.fetch_to_file(address), "Photo fetched."
            except ValueError as err:
                gr.Warning(str(err), title="Could not fetch the image")
                return gr.skip(), f"**Could not fetch the image.** {err}"

        def on_paint(photo_path, address, key, style_path, n_steps, amount, side, keep_colors):
            request = PaintRequest(
                photo=_file(photo_path),
                painter=key,
                style=_file(style_path),
                url=address,
                strength=amount,
                size=int(side),
                preserve_colors=bool(keep_colors),
                steps=int(n_steps),
            )
            before = None
            try:
                for event in studio.paint_events(request):
                    if isinstance(event, Progress):
                        before = event.photo if event.photo is not None else before
                        shown = (
                            (before, event.preview)
                            if event.preview is not None and before is not None
                            else gr.skip()
                        )
                        yield shown, gr.skip(), f"Working: {event.message}"
                    elif isinstance(event, PaintResult):
                        path = studio.save_for_download(event)
                        yield (
                            (event.photo, event.image),
                            gr.update(value=str(path), visible=True),
                            event.message,
                        )
            except (ValueError, PaintTimeout) as err:  # the person's to fix: a message, no traceback
                gr.Warning(str(err), title="Could not paint")
                yield gr.skip(), gr.update(visible=False), _error(str(err))
            except Exception as err:  # a bug or an exhausted machine: tell the person, keep serving
                log.exception("painting failed")
                text = f"something went wrong ({type(err).__name__}: {err}). The server is still running; try again."
                yield gr.skip(), gr.update(visible=False), _error(text)
                raise gr.Error(text) from None

        painter.change(on_painter, painter, [style, steps], queue=False)
        fetch.click(on_fetch, url, [photo, status], concurrency_limit=limits.concurrency)
        url.submit(on_fetch, url, [photo, status], concurrency_limit=limits.concurrency)
        paint.click(
            on_paint,
            [photo, url, painter, style, steps, strength, size, preserve],
            [result, download, status],
            concurrency_limit=limits.concurrency,
            api_name="paint",
            preprocess=False,  # uploads reach the studio unopened: it validates them (see _file)
        )
    demo.queue(max_size=limits.queue_size, default_concurrency_limit=limits.concurrency)
    return demo


def launch(
    models_dir=None,
    host: str = "127.0.0.1",
    port: int | None = None,
    share: bool = False,
    limits: Limits | None = None,
    backbone: str | None = None,
    weights="default",
    arbitrary_model="auto",
    inline: bool | None = None,
    block: bool | None = None,
    studio: Studio | None = None,
    quiet: bool = False,
    warm_up: bool = True,
) -> gr.Blocks:
    """Build and start the demo.

    Args:
        models_dir: folder with fast-style presets / CycleGAN generators (default ``STX_MODELS_DIR`` or
            ``./models``).
        host: interface to listen on (``127.0.0.1``: this machine only; ``0.0.0.0``: the network).
        port: TCP port (``None``: the first free one from 7860, so a re-run notebook cell gets a new one).
        share: also open a temporary public ``*.gradio.live`` link (Colab / Kaggle).
        limits: upload / time / queue :class:`Limits`.
        backbone, weights: the Gatys backbone and its weights (see :class:`Studio`).
        arbitrary_model: the instant any-painting model (a path, ``"auto"`` or ``None``; see :class:`Studio`).
        inline: show the page inside the notebook cell (default: Gradio decides, on in notebooks).
        block: keep the calling thread serving until Ctrl-C (``stx serve``); ``False`` returns at once,
            serving from a background thread (tests); stop it with ``demo.close()``. ``None``: ``False`` in a
            notebook (Jupyter, Colab, Kaggle), ``True`` elsewhere.
        studio: an existing :class:`Studio` (then ``models_dir``, ``limits``, ``backbone``, ``weights``,
            ``arbitrary_model`` are ignored).
        quiet: do not print the URLs.
        warm_up: load and compile the instant painters in the background right away
            (:meth:`Studio.warm_up`), so the first click is as fast as the next ones.

    Returns:
        The running ``gr.Blocks``; its ``local_url`` / ``share_url`` say where it is.
    """
    studio = studio or Studio(
        models_dir, limits=limits, backbone=backbone, weights=weights, arbitrary_model=arbitrary_model
    )
    if block is None:
        block = "ipykernel" not in sys.modules
    demo = build_app(studio)
    if warm_up:
        threading.Thread(target=studio.warm_up, name="stx-warm-up", daemon=True).start()
    demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        inline=inline,
        prevent_thread_lock=not block,
        max_file_size=studio.limits.max_upload_bytes,
        show_error=True,
        ssr_mode=False,
        quiet=quiet,
        theme=gr.themes.Soft(primary_hue="orange", secondary_hue="sky"),
        css=CSS,
    )
    demo.studio = studio
    if block:  # the server has stopped (Ctrl-C)
        studio.close()
    return demo
