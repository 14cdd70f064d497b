"""Use a trained generator: new images to a folder or zip, and latent-space interpolation grids."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from stx_tf import atomic
from stx_tf.data.images import encode_jpeg, save_image
from stx_tf.dcgan.nets import latent_dim_of
from stx_tf.viz import image_grid, to_uint8


def latent_points(n: int, latent_dim: int, seed: int | None = None) -> np.ndarray:
    """``n`` standard-normal latent vectors, float32 ``(n, latent_dim)`` (reproducible with ``seed``)."""
    return np.random.default_rng(seed).standard_normal((int(n), int(latent_dim))).astype(np.float32)


def generate(generator, z, batch_size: int = 256) -> np.ndarray:
    """Images for latent vectors ``z`` ``(N, latent_dim)`` as uint8 ``(N, S, S, 3)``, in batches."""
    z = np.asarray(z, np.float32)
    expected = latent_dim_of(generator)
    if z.ndim != 2 or z.shape[1] != expected:
        raise ValueError(
            f"latent vectors of shape {z.shape} do not fit a generator taking latent_dim={expected}"
        )
    out = [
        to_uint8(np.asarray(generator(z[i : i + batch_size], training=False)), signed=True)
        for i in range(0, len(z), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros((0, 0, 0, 3), np.uint8)


def _iter_batches(generator, n: int, seed: int | None, batch_size: int):
    rng_seed = np.random.default_rng(seed)
    latent = latent_dim_of(generator)
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        z = latent_points(count, latent, int(rng_seed.integers(2**31)))
        yield start, generate(generator, z, batch_size)


def sample(generator, n: int, out, seed: int | None = None, batch_size: int = 256, fmt: str = "png") -> Path:
    """Write ``n`` generated images to a folder or a ``.zip`` (atomically).

    Args:
        generator: a generator model (see :func:`stx_tf.dcgan.train.load_generator`).
        n: how many images.
        out: a folder (created) or a path ending in ``.zip``.
        seed: latent seed for reproducible samples.
        batch_size: images generated per call.
        fmt: ``"png"`` or ``"jpg"``.

    Returns:
        The folder or zip path. Files are named ``00000.png``, ``00001.png``, ...
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"number of images must be at least 1, got {n}")
    fmt = fmt.lower().lstrip(".").replace("jpeg", "jpg")
    if fmt not in ("png", "jpg"):
        raise ValueError(f"image format must be png or jpg, got {fmt!r}")
    out = Path(out)
    if out.suffix.lower() == ".zip":
        return _sample_zip(generator, n, out, seed, batch_size, fmt)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    staging = out.with_name(f".{out.name}.new")
    with atomic.atomic_dir(staging) as tmp:  # all images are written before any is moved in
        for start, images in _iter_batches(generator, n, seed, batch_size):
            for i, img in enumerate(images):
                save_image(img, tmp / f"{start + i:05d}.{fmt}")
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(staging.iterdir()):
        path.replace(out / path.name)
    staging.rmdir()
    return out


def _sample_zip(generator, n: int, out: Path, seed, batch_size: int, fmt: str) -> Path:
    with atomic.atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for start, images in _iter_batches(generator, n, seed, batch_size):
            for i, img in enumerate(images):
                if fmt == "jpg":
                    data = encode_jpeg(img)
                else:
                    buf = io.BytesIO()
                    Image.fromarray(img).save(buf, format="PNG")
                    data = buf.getvalue()
                zf.writestr(f"{start + i:05d}.{fmt}", data)
    return out


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation between latent vectors (White 2016, https://arxiv.org/abs/1609.04468)."""
    a_n, b_n = a / np.linalg.norm(a), b / np.linalg.norm(b)
    omega = np.arccos(np.clip(np.dot(a_n, b_n), -1.0, 1.0))
    if omega < 1e-6:
        return (1.0 - t) * a + t * b
    return (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def interpolation_latents(
    latent_dim: int, rows: int = 4, steps: int = 8, seed: int | None = 0, spherical=True
):
    """Latent vectors ``(rows * steps, latent_dim)``: each row walks between two random points."""
    ends = latent_points(2 * rows, latent_dim, seed).reshape(rows, 2, latent_dim)
    ts = np.linspace(0.0, 1.0, steps)
    walk = [
        slerp(a, b, t) if spherical else (1.0 - t) * a + t * b  # (latent,)
        for a, b in ends
        for t in ts
    ]
    return np.stack(walk).astype(np.float32)


def interpolate(
    generator,
    out=None,
    rows: int = 4,
    steps: int = 8,
    seed: int | None = 0,
    spherical: bool = True,
    show=False,
) -> np.ndarray:
    """A latent interpolation grid: ``rows`` walks of ``steps`` images between random latent points.

    Args:
        generator: a generator model.
        out: save the grid here as PNG.
        rows: number of walks.
        steps: images per walk (including both ends).
        seed: latent seed.
        spherical: slerp (default) or straight-line interpolation.
        show: display the figure (notebooks).

    Returns:
        uint8 images ``(rows * steps, S, S, 3)`` in row order.
    """
    if rows < 1 or steps < 2:
        raise ValueError(f"need rows >= 1 and steps >= 2, got rows={rows}, steps={steps}")
    z = interpolation_latents(latent_dim_of(generator), rows, steps, seed, spherical)
    images = generate(generator, z)
    if out is not None or show:
        image_grid(images, ncols=steps, path=out, cell=1.0, suptitle="latent interpolation", show=show)
    return images
