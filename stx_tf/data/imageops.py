"""Float image helpers shared by the painters and the web demo: resizing and the YIQ colour space.

Images are float32 ``(H, W, 3)`` RGB in ``[0, 1]``. Colour preservation follows Gatys et al.,
"Preserving Color in Neural Artistic Style Transfer" (https://arxiv.org/abs/1606.05897): the painting
is done on (or keeps only) the luminance ``Y``; the photo's chrominance ``I, Q`` is put back.
"""

from __future__ import annotations

import numpy as np

# RGB <-> YIQ (luminance Y, chrominance I, Q).
_RGB2YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float32)
_YIQ2RGB = np.linalg.inv(_RGB2YIQ).astype(np.float32)


def rgb_to_yiq(image: np.ndarray) -> np.ndarray:
    """``(..., 3)`` RGB in [0, 1] -> YIQ."""
    return np.asarray(image, np.float32) @ _RGB2YIQ.T


def yiq_to_rgb(image: np.ndarray) -> np.ndarray:
    """YIQ -> RGB, clipped to [0, 1]."""
    return np.clip(np.asarray(image, np.float32) @ _YIQ2RGB.T, 0.0, 1.0)


def match_luminance(style_y: np.ndarray, content_y: np.ndarray) -> np.ndarray:
    """Shift and scale the style luminance to the content's mean and deviation (Gatys et al. 2016)."""
    std = float(style_y.std()) or 1.0
    return np.clip((style_y - style_y.mean()) * (content_y.std() / std) + content_y.mean(), 0.0, 1.0)


def keep_colours(painted: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """The painting's luminance with the photo's chrominance (both ``(H, W, 3)``, same size)."""
    return yiq_to_rgb(np.concatenate([rgb_to_yiq(painted)[..., :1], rgb_to_yiq(photo)[..., 1:]], axis=-1))


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a float ``(H, W, C)`` image (antialiased bilinear), clipped to [0, 1]."""
    if image.shape[:2] == (height, width):
        return image
    from keras import ops

    out = ops.image.resize(image[None], (height, width), interpolation="bilinear", antialias=True)
    return np.clip(ops.convert_to_numpy(out)[0], 0.0, 1.0)
