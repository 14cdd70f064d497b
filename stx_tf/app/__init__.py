"""The web demo: upload a photo, pick a painter, get the painting (``stx serve``).

* :mod:`stx_tf.app.limits` - what is accepted (bytes, pixels, formats, URLs, time, concurrency).
* :mod:`stx_tf.app.painters` - finding painters on disk (fast-style presets, CycleGAN generators) and
  running them; Gatys "any painting" is always offered.
* :mod:`stx_tf.app.studio` - :class:`Studio`, the whole request pipeline as plain functions.
* :mod:`stx_tf.app.ui` - the Gradio page (needs ``pip install "stx_tf[app]"``); :func:`launch` starts it.

In a notebook (Colab / Kaggle)::

    from stx_tf.app import launch
    demo = launch(models_dir="models", share=True)   # returns at once; the page shows in the cell
    # demo.share_url: the public link (72 h); demo.close() stops the server

The rest of the package never imports this one.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Limits": "limits",
    "read_photo": "limits",
    "fetch_url": "limits",
    "Painter": "painters",
    "discover_painters": "painters",
    "Studio": "studio",
    "PaintRequest": "studio",
    "PaintResult": "studio",
    "PaintTimeout": "studio",
    "build_app": "ui",
    "launch": "ui",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
