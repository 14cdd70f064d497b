"""What the web demo accepts: upload size, pixel count, formats, image URLs, time and concurrency.

Everything a person sends passes :func:`read_photo` (uploads) or :func:`fetch_url` (image URLs) before
any model sees it. Both raise :class:`ValueError` with a message written for the person at the page.
Decoding itself is :func:`stx_tf.data.images.open_image` (the one image decoder); this module only adds
the cheap checks that must happen first (bytes, header-declared pixel count, format).
"""

from __future__ import annotations

import io
import ipaddress
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from stx_tf.data.images import MAX_PIXELS, open_image

#: PIL format names accepted from people (MPO: the JPEG variant many phones write).
ALLOWED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF")

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The limits that keep a public demo up.

    Attributes:
        max_upload_bytes: largest photo / style file (uploads and URL downloads).
        max_pixels: largest declared image (width × height), checked from the header before decoding:
            the decompression-bomb guard. Never above :data:`stx_tf.data.images.MAX_PIXELS`.
        formats: accepted PIL formats (:data:`ALLOWED_FORMATS`).
        min_side: smallest accepted shorter side in pixels.
        max_output: largest output side (the size slider's maximum).
        max_steps: most Gatys steps one request may ask for.
        time_limit: seconds one request may run (Gatys stops there and returns what it has).
        concurrency: paintings computed at the same time; further requests wait in the queue.
        queue_size: requests that may wait; more get a "queue is full" message.
        url_timeout: seconds to connect and to wait for each read when fetching an image URL.
        allow_private_urls: also fetch from loopback / private / link-local addresses (tests only:
            a public demo must not be usable to probe the network it runs in).
    """

    max_upload_bytes: int = 20 * MB
    max_pixels: int = 40_000_000
    formats: tuple[str, ...] = ALLOWED_FORMATS
    min_side: int = 32
    max_output: int = 1024
    max_steps: int = 500
    time_limit: float = 180.0
    concurrency: int = 1
    queue_size: int = 32
    url_timeout: float = 10.0
    allow_private_urls: bool = False

    def __post_init__(self):
        if self.max_upload_bytes < 1 or self.max_pixels < 1 or self.max_output < 64 or self.max_steps < 1:
            raise ValueError(f"limits must be positive (max_output >= 64), got {self}")
        if self.time_limit <= 0 or self.concurrency < 1 or self.queue_size < 1 or self.url_timeout <= 0:
            raise ValueError(
                f"time_limit, concurrency, queue_size and url_timeout must be positive, got {self}"
            )
        if self.max_pixels > MAX_PIXELS:
            object.__setattr__(self, "max_pixels", MAX_PIXELS)

    def describe(self) -> str:
        """One line for the page footer."""
        return (
            f"Photos up to {self.max_upload_bytes / MB:g} MB and {self.max_pixels / 1e6:g} MP "
            f"({', '.join(sorted({f for f in self.formats if f != 'MPO'}))}); results up to {self.max_output} px; "
            f"{self.time_limit:.0f} s per painting."
        )


def _read_source(source, name: str, limits: Limits) -> bytes:
    """Bytes of a path or bytes, refusing more than ``max_upload_bytes`` without reading them all."""
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"{name}: no such file")
        size = path.stat().st_size
        if size > limits.max_upload_bytes:
            raise ValueError(_too_big(name, size, limits))
        data = path.read_bytes()
    if len(data) > limits.max_upload_bytes:
        raise ValueError(_too_big(name, len(data), limits))
    if not data:
        raise ValueError(f"{name}: the file is empty")
    return data


def _too_big(name: str, size: int, limits: Limits) -> str:
    return f"{name}: {size / MB:.1f} MB is over the {limits.max_upload_bytes / MB:.0f} MB upload limit"


def check_header(data: bytes, name: str, limits: Limits) -> tuple[str, int, int]:
    """Format and declared size from the header only (no pixel decoding): ``(format, width, height)``.

    Raises:
        ValueError: not an image, a format outside ``limits.formats``, too many or too few pixels.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format or "?", img.size
    except Image.DecompressionBombError:  # PIL's own guard (over ~179 MP) fires before ours
        raise ValueError(
            f"{name}: the image declares over {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} megapixels, over "
            f"the {limits.max_pixels / 1e6:.0f} MP limit (decompression-bomb guard)"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValueError(
            f"{name}: not an image (the file's content is not a picture, whatever its name says). "
            f"Upload a photo as {' / '.join(f for f in limits.formats if f != 'MPO')}."
        ) from None
    if fmt not in limits.formats:
        raise ValueError(f"{name}: {fmt} images are not accepted; use {', '.join(limits.formats)}")
    if width * height > limits.max_pixels:
        raise ValueError(
            f"{name}: {width}×{height} is {width * height / 1e6:.1f} megapixels, over the "
            f"{limits.max_pixels / 1e6:.1f} MP limit; downscale it and try again"
        )
    if min(width, height) < limits.min_side:
        raise ValueError(
            f"{name}: {width}×{height} is too small (the shorter side must be at least {limits.min_side} px)"
        )
    return fmt, width, height


def read_photo(source, limits: Limits | None = None, name: str | None = None) -> np.ndarray:
    """Validate and decode an uploaded image: ``uint8`` RGB ``(H, W, 3)``.

    Args:
        source: a path or the file's bytes.
        limits: the app's :class:`Limits` (default limits when ``None``).
        name: how to call the file in messages (default: the file name).

    Raises:
        ValueError: too many bytes, not an image, a refused format, too many / too few pixels, truncated.
    """
    limits = limits or Limits()
    name = name or ("the image" if isinstance(source, bytes | bytearray) else Path(source).name)
    data = _read_source(source, name, limits)
    check_header(data, name, limits)
    return np.asarray(open_image(data, name=name), dtype=np.uint8)


# ---------------------------------------------------------------------------------------------- URLs
def _check_host(host: str | None, limits: Limits) -> None:
    """Refuse hosts that resolve to loopback / private / link-local / reserved addresses."""
    if not host:
        raise ValueError("the URL has no host name")
    if limits.allow_private_urls:
        return
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as err:
        raise ValueError(f"{host}: cannot resolve the host name ({err.strerror})") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise ValueError(f"{host}: refusing to fetch from a local or private address ({address})")


def _check_url(url: str, limits: Limits) -> str:
    url = (url or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{url or 'the URL'}: give an http:// or https:// address of an image")
    _check_host(parts.hostname, limits)
    return url


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Re-check every redirect target (a public URL must not bounce to a private one)."""

    def __init__(self, limits: Limits):
        self.limits = limits

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        _check_url(newurl, self.limits)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_url(url: str, limits: Limits | None = None) -> bytes:
    """Download an image URL with a timeout and a size cap; returns the bytes (validate with :func:`read_photo`).

    Raises:
        ValueError: not http(s), a private address (unless ``limits.allow_private_urls``), HTTP errors,
            timeouts, or more than ``limits.max_upload_bytes``.
    """
    limits = limits or Limits()
    url = _check_url(url, limits)
    opener = urllib.request.build_opener(_CheckedRedirects(limits))
    request = urllib.request.Request(url, headers={"User-Agent": "stx_tf-demo/1.0", "Accept": "image/*"})
    cap = limits.max_upload_bytes
    try:
        with opener.open(request, timeout=limits.url_timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise ValueError(_too_big(url, int(declared), limits))
            data = response.read(cap + 1)
    except urllib.error.HTTPError as err:
        raise ValueError(f"{url}: the server answered {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise ValueError(f"{url}: cannot download ({err.reason})") from None
    except TimeoutError:
        raise ValueError(f"{url}: no answer within {limits.url_timeout:.0f} s") from None
    except OSError as err:
        raise ValueError(f"{url}: cannot download ({err})") from None
    if len(data) > cap:
        raise ValueError(f"{url}: more than the {cap / MB:.0f} MB upload limit")
    return data


def url_name(url: str) -> str:
    """A short file name for messages and downloads: the last path part of ``url``."""
    name = Path(urllib.parse.unquote(urllib.parse.urlsplit(url.strip()).path)).name
    return re.sub(r"[^\w.-]+", "_", name)[-80:].lstrip(".") or "image"
