"""The web demo: limits and painters as plain functions, then the real page in headless Chromium.

Browser tests drive Debian's Chromium (``/usr/bin/chromium``) with Playwright's Python API and skip when
Gradio, Playwright or Chromium are missing. Every server here listens on 127.0.0.1 only.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import io
import shutil
import socket
import struct
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from images import make_rgb
from PIL import Image

from stx_tf.app.limits import Limits, fetch_url, read_photo, url_name
from stx_tf.app.painters import ARBITRARY_KEY, GATYS_KEY, classify_model_file, discover_painters
from stx_tf.app.studio import PaintRequest, PaintResult, PaintTimeout, Progress, Studio, blend

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_COPY = Path("/tmp/app_screenshot.png")
FAST = "tiny (fast style, instant)"
INSTANT_ANY, GATYS_ANY = "Any painting — instant", "Any painting — best quality (slower)"


# ------------------------------------------------------------------------------------------ helpers
def jpeg_bytes(width: int, height: int, seed: int = 0) -> bytes:
    image = make_rgb(seed, max(width, height))[:height, :width]
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width × height`` but holds no pixel data: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Photos and bad files on disk."""
    root = tmp_path_factory.mktemp("app_files")
    out = {
        "photo": root / "photo.jpg",
        "style": root / "style.jpg",
        "big": root / "big.png",
        "bad": root / "notes.jpg",
    }
    out["photo"].write_bytes(jpeg_bytes(200, 150, seed=1))
    out["style"].write_bytes(jpeg_bytes(96, 96, seed=7))
    Image.fromarray(make_rgb(3, 800)[:600]).save(out["big"])  # 0.48 MP: over the browser server's limit
    out["bad"].write_text("this is a shopping list, not a picture\n" * 20)
    return out


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    """A tiny fast-style preset and a tiny CycleGAN generator with random weights, plus junk to skip."""
    storage = pytest.importorskip("stx_tf.fast_style.storage")
    transform = pytest.importorskip("stx_tf.fast_style.nets")
    generators = pytest.importorskip("stx_tf.cyclegan.nets")
    import keras

    root = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(0)
    net = transform.build_transform_net(filters=(4, 8, 8), residual_blocks=1)
    storage.save_transform(net, root / "tiny.keras", info={"style": "test pattern"})
    run = root / "run1"
    storage.save_transform(net, run / "transform.keras", info={"style": "/data/starry_night.jpg"})
    generators.resnet_generator(filters=4, res_blocks=1).save(root / "monet_generator.keras")
    (root / "monet_run").mkdir()  # a CycleGAN run folder: listed once, as the folder
    (root / "monet_run" / "run.json").write_text('{"epoch": 1}')
    shutil.copy(root / "monet_generator.keras", root / "monet_run" / "monet_generator.keras")
    inputs = keras.Input((8,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs), name="classifier").save(root / "classifier.keras")
    (root / "broken.keras").write_text("not a zip archive")
    shutil.copy(root / "tiny.keras", root / ".tiny.partial.keras")
    return root


@pytest.fixture(scope="module")
def arbitrary_dir(tmp_path_factory):
    """A tiny fake of Magenta's TFLite pair (see tests/test_arbitrary.py)."""
    from test_arbitrary import write_fake_pair

    return write_fake_pair(tmp_path_factory.mktemp("magenta_arbitrary_style"))


@pytest.fixture(scope="module")
def studio(models_dir, arbitrary_dir):
    studio = Studio(
        models_dir,
        limits=Limits(max_output=256, time_limit=60),
        backbone="squeezenet",
        weights=None,
        arbitrary_model=arbitrary_dir,
    )
    yield studio
    studio.close()


@pytest.fixture(scope="module")
def http_root(tmp_path_factory):
    """A static file server on 127.0.0.1 (for image URLs)."""
    root = tmp_path_factory.mktemp("www")
    (root / "photo.jpg").write_bytes(jpeg_bytes(160, 120, seed=2))
    (root / "large.bin").write_bytes(b"\0" * 50_000)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------------------------------- validation
def test_read_photo_decodes_common_formats():
    photo = read_photo(jpeg_bytes(120, 80), Limits())
    assert photo.shape == (80, 120, 3) and photo.dtype == np.uint8
    buf = io.BytesIO()
    Image.new("RGBA", (64, 48), (255, 0, 0, 0)).save(buf, format="PNG")  # transparent -> on white
    assert read_photo(buf.getvalue(), Limits()).shape == (48, 64, 3)


def test_read_photo_refuses_bad_files(files, tmp_path):
    with pytest.raises(ValueError, match="notes.jpg: not an image"):
        read_photo(files["bad"], Limits())
    with pytest.raises(ValueError, match="empty"):
        read_photo(b"", Limits())
    with pytest.raises(ValueError, match="no such file"):
        read_photo(tmp_path / "missing.jpg", Limits())
    with pytest.raises(ValueError, match="MB upload limit"):
        read_photo(files["photo"], Limits(max_upload_bytes=1000))
    with pytest.raises(ValueError, match="PNG images are not accepted"):
        read_photo(files["big"], Limits(formats=("JPEG",)))
    with pytest.raises(ValueError, match="too small"):
        read_photo(jpeg_bytes(40, 20), Limits())
    truncated = files["photo"].read_bytes()[:600]
    with pytest.raises(ValueError, match="photo"):
        read_photo(truncated, Limits(), name="photo")


def test_read_photo_decompression_bomb_guard():
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"9000×9000 is 81.0 megapixels, over the 40.0 MP limit"):
        read_photo(png_header(9000, 9000), Limits())  # checked from the header, never decoded
    with pytest.raises(ValueError, match="decompression-bomb guard"):
        read_photo(png_header(30000, 30000), Limits())  # PIL's own guard fires first: same kind of message
    with pytest.raises(ValueError, match="megapixels"):
        read_photo(jpeg_bytes(800, 600), Limits(max_pixels=300_000))
    assert time.perf_counter() - start < 2.0
    assert Limits(max_pixels=10**12).max_pixels <= 64_000_000  # never above the decoder's own guard


def test_fetch_url(http_root):
    local = Limits(allow_private_urls=True, url_timeout=2)
    data = fetch_url(f"{http_root}/photo.jpg", local)
    assert read_photo(data, local).shape == (120, 160, 3)
    with pytest.raises(ValueError, match="404"):
        fetch_url(f"{http_root}/nothing.jpg", local)
    with pytest.raises(ValueError, match="upload limit"):
        fetch_url(f"{http_root}/large.bin", Limits(allow_private_urls=True, max_upload_bytes=10_000))
    with pytest.raises(ValueError, match="http:// or https://"):
        fetch_url("file:///etc/passwd", local)
    with pytest.raises(ValueError, match="local or private address"):
        fetch_url(f"{http_root}/photo.jpg", Limits())  # the default refuses loopback / private hosts
    assert url_name(f"{http_root}/some%20dir/my photo.jpg?x=1") == "my_photo.jpg"


def test_fetch_url_times_out():
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        start = time.perf_counter()
        with pytest.raises(ValueError, match="timed out|no answer"):
            fetch_url(
                f"http://127.0.0.1:{silent.getsockname()[1]}/x.jpg",
                Limits(allow_private_urls=True, url_timeout=0.3),
            )
        assert time.perf_counter() - start < 5


# ------------------------------------------------------------------------------------------ painters
def test_discover_painters(models_dir, tmp_path):
    painters = discover_painters(models_dir)
    kinds = {p.key: p.kind for p in painters}
    assert kinds == {
        "monet_generator.keras": "cyclegan",
        "monet_run": "cyclegan",
        "run1/transform.keras": "fast_style",
        "tiny.keras": "fast_style",
        GATYS_KEY: "gatys",
    }
    labels = [p.label for p in painters]
    assert FAST in labels and "starry night (fast style, instant)" in labels  # generic stem: style name
    assert painters[-1].key == GATYS_KEY and all(p.instant for p in painters[:-1])
    assert classify_model_file(models_dir / "classifier.keras") is None
    assert classify_model_file(models_dir / "broken.keras") is None
    assert [p.key for p in discover_painters(tmp_path / "absent")] == [GATYS_KEY]


def test_instant_any_painting_comes_first_when_its_model_is_found(models_dir, arbitrary_dir, tmp_path):
    painters = discover_painters(models_dir, arbitrary=arbitrary_dir)
    assert [p.label for p in painters][:: len(painters) - 1] == [INSTANT_ANY, GATYS_ANY]
    assert painters[0].needs_style and painters[0].instant and not painters[-1].instant
    assert ARBITRARY_KEY not in [p.key for p in discover_painters(models_dir, arbitrary=tmp_path / "none")]
    assert ARBITRARY_KEY not in [p.key for p in discover_painters(models_dir, arbitrary=None)]


def test_instant_any_painting(studio, files):
    request = PaintRequest(photo=files["photo"], painter=ARBITRARY_KEY, style=files["style"], size=100)
    result = studio.paint(request)
    assert (
        result.image.shape == result.photo.shape == (75, 100, 3)
        and "Any painting — instant" in result.message
    )
    weak = studio.paint(dataclasses.replace(request, strength=0.0))
    kept = studio.paint(dataclasses.replace(request, preserve_colors=True))
    assert np.abs(weak.image.astype(int) - result.image).mean() > 2  # strength reaches the style vector
    assert np.abs(kept.image.astype(int) - result.image).mean() > 2
    with pytest.raises(ValueError, match="needs a style image"):
        studio.paint(dataclasses.replace(request, style=None))
    with pytest.raises(ValueError, match="style image.*too small"):
        studio.paint(dataclasses.replace(request, style=jpeg_bytes(20, 20)))


def test_instant_painters(studio, files):
    for painter in [p for p in studio.painters if not p.needs_style]:
        result = studio.paint(PaintRequest(photo=files["photo"], painter=painter.key, size=100))
        assert isinstance(result, PaintResult)
        assert result.image.shape == result.photo.shape == (75, 100, 3)
        assert result.image.dtype == np.uint8 and "Done" in result.message
    same = studio.paint(PaintRequest(photo=files["photo"], painter="tiny.keras", size=100, strength=0.0))
    assert np.abs(same.image.astype(int) - same.photo.astype(int)).max() <= 1
    photo = np.random.default_rng(0).uniform(size=(8, 8, 3)).astype(np.float32)
    kept = blend(photo, np.full_like(photo, 0.5), 1.0, preserve_colors=True)
    from stx_tf.data.imageops import rgb_to_yiq

    assert np.abs(rgb_to_yiq(kept)[..., 0] - 0.5).mean() < 0.01  # the painting's luminance (up to clipping)
    assert np.corrcoef(rgb_to_yiq(kept)[..., 1].ravel(), rgb_to_yiq(photo)[..., 1].ravel())[0, 1] > 0.9


def test_requests_with_mistakes(studio, files, models_dir):
    with pytest.raises(ValueError, match="unknown painter"):
        studio.paint(PaintRequest(photo=files["photo"], painter="nope"))
    with pytest.raises(ValueError, match="no photo"):
        studio.paint(PaintRequest(painter="tiny.keras"))
    with pytest.raises(ValueError, match="needs a style image"):
        studio.paint(PaintRequest(photo=files["photo"], painter=GATYS_KEY))
    with pytest.raises(ValueError, match="not an image"):
        list(studio.paint_events(PaintRequest(photo=files["bad"], painter="tiny.keras")))
    unweighted = Studio(models_dir, backbone="squeezenet", weights=models_dir / "missing.h5")
    try:
        with pytest.raises(ValueError, match="no such file"):  # a clear message, not a crash
            unweighted.paint(
                PaintRequest(photo=files["photo"], painter=GATYS_KEY, style=files["style"], size=64)
            )
    finally:
        unweighted.close()
    ok = studio.paint(PaintRequest(photo=files["photo"], painter="tiny.keras", size=64))
    assert ok.image.shape == (48, 64, 3)  # the studio keeps serving


def test_gatys_progress_and_time_limit(studio, files, models_dir):
    request = PaintRequest(photo=files["photo"], painter=GATYS_KEY, style=files["style"], size=64, steps=20)
    events = list(studio.paint_events(request))
    result = events[-1]
    assert isinstance(result, PaintResult) and result.image.shape == (48, 64, 3)
    previews = [e for e in events if isinstance(e, Progress) and e.preview is not None]
    assert len(previews) == 2 and previews[-1].fraction == pytest.approx(1.0)  # one per 10 steps
    assert "Gatys, squeezenet, 20 steps" in result.message
    rushed = Studio(models_dir, limits=Limits(time_limit=0.01), backbone="squeezenet", weights=None)
    try:
        stopped = rushed.paint(
            PaintRequest(photo=files["photo"], painter=GATYS_KEY, style=files["style"], size=64, steps=30)
        )
        assert "stopped at the 0.01 s time limit" in stopped.message and "10 steps" in stopped.message
    finally:
        rushed.close()


def test_instant_painter_time_limit(models_dir, files, monkeypatch):
    import stx_tf.app.studio as studio_module

    slow = Studio(models_dir)
    request = PaintRequest(photo=files["photo"], painter="tiny.keras", size=64)
    slow.paint(request)  # load and compile first: that is not what we time here
    real = studio_module.run_instant

    def sleepy(painter, model, image):
        time.sleep(1.0)
        return real(painter, model, image)

    monkeypatch.setattr(studio_module, "run_instant", sleepy)
    slow.limits = dataclasses.replace(slow.limits, time_limit=0.3)
    try:
        with pytest.raises(PaintTimeout, match="0.3 s limit"):
            list(slow.paint_events(request))
        monkeypatch.setattr(studio_module, "run_instant", real)
        slow.limits = dataclasses.replace(slow.limits, time_limit=60)
        done = list(slow.paint_events(request))[-1]  # waits for the stuck painting's worker, then runs
        assert done.image.shape == (48, 64, 3)
    finally:
        slow.close()


def test_warm_up_survives_a_broken_painter(models_dir, files, tmp_path, monkeypatch):
    import zipfile

    import stx_tf.app.studio as studio_module

    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(models_dir / "tiny.keras", folder)
    with (
        zipfile.ZipFile(models_dir / "monet_generator.keras") as good,
        zipfile.ZipFile(folder / "cut.keras", "w") as cut,
    ):
        cut.writestr("config.json", good.read("config.json"))  # looks like a generator, has no weights
    warnings = []
    monkeypatch.setattr(studio_module.log, "warning", lambda *args: warnings.append(args[0] % args[1:]))
    studio = Studio(folder)
    try:
        studio.warm_up()
        assert [p.kind for p in studio.painters] == ["cyclegan", "fast_style", "gatys"]
        assert len(warnings) == 1 and "cut (CycleGAN, instant): cannot be used" in warnings[0]
        with pytest.raises(ValueError, match="cut.keras"):
            studio.paint(PaintRequest(photo=files["photo"], painter="cut.keras", size=64))
        assert studio.paint(
            PaintRequest(photo=files["photo"], painter="tiny.keras", size=64)
        ).image.shape == (48, 64, 3)
    finally:
        studio.close()


def test_cli_serve_arguments():
    from stx_tf.cli import build_parser
    from stx_tf.cli.serve import _weights

    args = build_parser().parse_args(["serve", "--port", "8000", "--concurrency", "2", "--weights", "none"])
    assert (args.host, args.port, args.concurrency, args.share) == ("127.0.0.1", 8000, 2, False)
    assert _weights(args.weights) is None and _weights(None) == "default" and _weights("w.h5") == "w.h5"


# ------------------------------------------------------------------------------------------ browser
@pytest.fixture(scope="module")
def server(models_dir, arbitrary_dir):
    pytest.importorskip("gradio")
    from stx_tf.app.ui import launch

    limits = Limits(max_pixels=300_000, max_output=256, max_steps=50, time_limit=60, allow_private_urls=True)
    studio = Studio(
        models_dir, limits=limits, backbone="squeezenet", weights=None, arbitrary_model=arbitrary_dir
    )
    demo = launch(studio=studio, host="127.0.0.1", port=free_port(), block=False, quiet=True, warm_up=False)
    yield demo
    demo.close()
    studio.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(server.local_url)
    page.wait_for_selector("#paint-button")
    yield page
    context.close()


def upload(page, element: str, path: Path) -> None:
    with page.expect_response(lambda r: "/upload" in r.url):
        page.locator(f"#{element} input[type=file]").set_input_files(str(path))
    page.locator(f"#{element} img").first.wait_for(state="attached")


def choose_painter(page, label: str) -> None:
    page.locator("#painter input").click()
    page.get_by_role("option", name=label).click()


def set_number(page, element: str, value: int) -> None:
    box = page.locator(f"#{element} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def paint_and_wait(page, expect: str, timeout: float = 60_000) -> str:
    page.locator("#paint-button").click()
    page.wait_for_function(
        "t => document.querySelector('#status').innerText.includes(t)", arg=expect, timeout=timeout
    )
    return page.locator("#status").inner_text()


def test_browser_paints_a_photo(page, files, tmp_path):
    upload(page, "photo", files["photo"])
    choose_painter(page, FAST)
    set_number(page, "size", 96)
    status = paint_and_wait(page, "Done")
    assert "96×72 px" in status
    assert page.locator("#result img").count() >= 2  # before / after
    with page.expect_download() as info:
        page.locator("#download").click()
    with Image.open(info.value.path()) as painted:
        assert painted.size == (96, 72)
    shot = tmp_path / "app_screenshot.png"
    page.screenshot(path=str(shot), full_page=True)
    shutil.copy(shot, SCREENSHOT_COPY)


def test_browser_bad_uploads_get_messages_and_the_server_keeps_serving(page, files):
    choose_painter(page, FAST)
    upload(page, "photo", files["bad"])
    assert "not an image" in paint_and_wait(page, "Could not paint")
    assert "not an image" in " ".join(page.locator(".toast-body").all_inner_texts())
    upload(page, "photo", files["big"])
    assert "over the 0.3 MP limit" in paint_and_wait(page, "megapixels")
    upload(page, "photo", files["photo"])
    assert "Done" in paint_and_wait(page, "Done")


def test_browser_photo_from_url(page, http_root):
    page.locator("#url textarea, #url input").first.fill(f"{http_root}/photo.jpg")
    page.locator("#fetch").click()
    page.wait_for_function("document.querySelector('#status').innerText.includes('fetched')")
    choose_painter(page, "monet generator (CycleGAN, instant)")
    set_number(page, "size", 160)
    assert "160×120 px" in paint_and_wait(page, "Done")


def test_browser_any_painting_best_quality(page, files):
    choose_painter(page, FAST)
    page.locator("#style").wait_for(state="hidden")
    choose_painter(page, GATYS_ANY)
    page.locator("#style").wait_for(state="visible")
    upload(page, "photo", files["photo"])
    upload(page, "style", files["style"])
    set_number(page, "size", 64)
    set_number(page, "steps", 10)
    status = paint_and_wait(page, "Done")
    assert "Gatys" in status and "10 steps" in status and "64×48 px" in status


def test_browser_any_painting_instant(page, files, tmp_path):
    """The first painter on the page: upload a photo and a painting, press Paint, get the picture."""
    assert page.locator("#painter input").input_value() == INSTANT_ANY
    assert page.locator("#style").is_visible() and not page.locator("#steps").is_visible()
    upload(page, "photo", files["photo"])
    upload(page, "style", files["style"])
    set_number(page, "size", 128)
    status = paint_and_wait(page, "Done")
    assert "Any painting — instant" in status and "128×96 px" in status
    with page.expect_download() as info:
        page.locator("#download").click()
    with Image.open(info.value.path()) as painted:
        assert painted.size == (128, 96)
    page.screenshot(path=str(tmp_path / "instant.png"), full_page=True)
    shutil.copy(tmp_path / "instant.png", SCREENSHOT_COPY.with_name("app_instant_screenshot.png"))
