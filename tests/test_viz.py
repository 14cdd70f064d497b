"""stx_tf.viz: every figure is written as a PNG."""

from __future__ import annotations

import numpy as np
from PIL import Image

from stx_tf import viz


def test_figures_are_saved(tmp_path, rgb_factory):
    images = [rgb_factory(i, 32) for i in range(5)]
    viz.image_grid(images, titles=list("abcde"), path=tmp_path / "grid.png")
    viz.rows_grid({"photo": images[:2], "painted": images[2:4]}, path=tmp_path / "rows.png")
    viz.before_after(images[0], images[1], path=tmp_path / "ba.png")
    viz.plot_curves({"g_loss": [3, 2, 1], "d_loss": [1, 1, 1]}, path=tmp_path / "curves.png")
    viz.save_gif(images, tmp_path / "anim.gif")
    for name in ("grid.png", "rows.png", "ba.png", "curves.png"):
        with Image.open(tmp_path / name) as img:
            assert img.format == "PNG" and min(img.size) > 50
    with Image.open(tmp_path / "anim.gif") as gif:
        assert gif.n_frames == 5
    assert not list(tmp_path.glob(".*partial*"))


def test_to_uint8_ranges():
    assert viz.to_uint8(np.array([0.0, 1.0])).tolist() == [0, 255]
    assert viz.to_uint8(np.array([-1.0, 1.0]), signed=True).tolist() == [0, 255]
