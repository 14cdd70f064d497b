"""stx_tf.submission: export to images.zip (streamed, atomic, unique names, fill_to) and the checker."""

from __future__ import annotations

import io
import zipfile

import keras
import numpy as np
import pytest
from PIL import Image

from stx_tf.submission import check_submission, export_submission, safe_stem, unique_name


def jpeg(size: int = 256, mode: str = "RGB", fmt: str = "JPEG", value: int = 128) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (size, size), value if mode == "L" else (value, 60, 200)).save(
        buf, format=fmt, quality=70
    )
    return buf.getvalue()


def make_zip(path, entries: dict) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return str(path)


def painter() -> keras.Model:
    """A stand-in generator: any side in, same side out, values in [-1, 1]."""
    inputs = keras.Input((None, None, 3))
    return keras.Model(inputs, keras.layers.Activation("tanh")(keras.layers.Conv2D(3, 1)(inputs)))


# --------------------------------------------------------------------------------------------- checker
def test_checker_accepts_a_good_zip(tmp_path):
    path = make_zip(tmp_path / "good.zip", {f"img{i:03d}.jpg": jpeg(value=i) for i in range(5)})
    report = check_submission(path, min_count=5, max_count=6)
    assert report.ok and report.images == 5 and "OK" in report.summary()


@pytest.mark.parametrize(
    "entries, expected",
    [
        ({"sub/a.jpg": jpeg()}, "inside a folder"),
        ({"sub/": b"", "a.jpg": jpeg()}, "folder entry"),
        ({"a.png": jpeg(fmt="PNG")}, "not a .jpg"),
        ({"a.jpg": jpeg(fmt="PNG")}, "not JPEG data"),
        ({"a.jpg": jpeg(size=128)}, "128x128, not 256x256"),
        ({"a.jpg": jpeg(mode="L")}, "mode L, not RGB"),
        ({"a.jpg": jpeg()[:400]}, "does not decode"),
        ({".hidden.jpg": jpeg()}, "odd name"),
        ({"my photo.jpg": jpeg()}, "odd name"),
    ],
)
def test_checker_reports_bad_entries(tmp_path, entries, expected):
    report = check_submission(make_zip(tmp_path / "bad.zip", entries), min_count=1, max_count=2)
    assert not report.ok and expected in report.summary(), report.summary()


def test_checker_counts_and_bad_files(tmp_path):
    few = check_submission(make_zip(tmp_path / "few.zip", {"a.jpg": jpeg()}))
    assert not few.ok and "needs 7000 to 10000" in few.summary()
    (tmp_path / "not.zip").write_bytes(b"PK\x03\x04 broken")
    assert "not a zip file" in check_submission(tmp_path / "not.zip").summary()
    assert "no such file" in check_submission(tmp_path / "missing.zip").summary()
    dup = tmp_path / "dup.zip"
    with pytest.warns(UserWarning), zipfile.ZipFile(dup, "w") as zf:
        zf.writestr("a.jpg", jpeg())
        zf.writestr("a.jpg", jpeg())
    assert "appears twice" in check_submission(dup, min_count=1).summary()


def test_checker_on_a_full_size_submission(tmp_path):
    """7,000 entries (one small JPEG repeated): the real limits, in a few seconds."""
    data = jpeg(value=90)
    path = tmp_path / "images.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(7000):
            zf.writestr(f"{i:05d}.jpg", data)
    report = check_submission(path)
    assert report.ok and report.images == 7000, report.summary()


def test_cli_check(tmp_path, capsys):
    from stx_tf.cli import main

    good = make_zip(tmp_path / "good.zip", {"a.jpg": jpeg()})
    assert main(["submission", "check", good, "--min", "1", "--max", "1"]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["submission", "check", good]) == 1
    assert "NOT a valid submission" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------- export
def test_names_are_safe_and_unique():
    seen: set = set()
    assert unique_name(safe_stem("25c9904782"), seen) == "25c9904782.jpg"
    assert unique_name(safe_stem("25c9904782"), seen) == "25c9904782_2.jpg"
    assert safe_stem("../a b/.c") == "a_b_.c" and safe_stem("...") == "image"


def test_export_refuses_too_few_photos_without_fill(jpeg_folder, tmp_path):
    with pytest.raises(ValueError, match="only 6 photos.*fill_to=7000"):
        export_submission(painter(), jpeg_folder, tmp_path / "out" / "images.zip", progress=False)
    assert not list((tmp_path / "out").iterdir())


def test_export_fills_streams_and_checks(jpeg_folder, tmp_path):
    out = tmp_path / "sub" / "images.zip"
    report = export_submission(
        painter(),
        jpeg_folder,
        out,
        batch_size=4,
        quality=80,
        fill_to=20,
        min_count=20,
        max_count=25,
        progress=False,
    )
    assert report.written == 20 and report.photos == 6 and report.filled == 14 and report.skipped == 0
    assert report.check.ok and out.is_file() and not list(out.parent.glob("*.partial"))
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        first = np.asarray(Image.open(io.BytesIO(zf.read("img00.jpg"))))
        variant = np.asarray(Image.open(io.BytesIO(zf.read("img00_v1.jpg"))))
    assert len(set(names)) == 20 and "img05_v2.jpg" in names and all("/" not in n for n in names)
    assert first.shape == variant.shape == (256, 256, 3) and np.abs(first.astype(int) - variant).mean() > 1


def test_export_at_a_smaller_inference_size(jpeg_folder, tmp_path):
    out = tmp_path / "images.zip"
    report = export_submission(
        painter(), jpeg_folder, out, min_count=6, max_count=6, infer_size=64, progress=False
    )
    assert report.check.ok and report.written == 6  # generator ran at 64 px, the zip holds 256 px JPEGs


def test_export_skips_corrupt_records_with_a_count(jpeg_folder, tmp_path):
    import tensorflow as tf

    from stx_tf.data.tfrecords import jpeg_bytes_for, make_example

    shard = tmp_path / "photos.tfrec"
    with tf.io.TFRecordWriter(str(shard)) as writer:
        for path in sorted(jpeg_folder.iterdir()):
            writer.write(make_example(jpeg_bytes_for(path), path.stem, "photo"))
        writer.write(make_example(b"this is not a jpeg", "broken", "photo"))
    report = export_submission(
        painter(), shard, tmp_path / "images.zip", min_count=6, max_count=7, progress=False
    )
    assert report.written == 6 and report.skipped == 1 and "1 unusable photo(s) skipped" in report.summary()
    with pytest.raises(ValueError, match="unusable"):
        export_submission(
            painter(), shard, tmp_path / "strict.zip", min_count=6, skip_bad=False, progress=False
        )


class _InterruptedAtSecondBatch:
    """A stand-in generator that is interrupted (Ctrl-C) while the zip is half written."""

    input_shape = (None, None, None, 3)

    def __init__(self):
        self.calls = 0

    def predict_on_batch(self, x):
        self.calls += 1
        if self.calls > 1:
            raise KeyboardInterrupt
        return np.zeros_like(x)


def test_interrupted_export_leaves_no_finished_zip(jpeg_folder, tmp_path):
    out = tmp_path / "images.zip"
    with pytest.raises(KeyboardInterrupt):
        export_submission(
            _InterruptedAtSecondBatch(), jpeg_folder, out, batch_size=2, fill_to=7000, progress=False
        )
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_export_errors(jpeg_folder, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(ValueError, match="not writable"):
        export_submission(painter(), jpeg_folder, blocked / "images.zip", fill_to=7000, progress=False)
    with pytest.raises(ValueError, match=r"\.zip"):
        export_submission(painter(), jpeg_folder, tmp_path / "images.tar", progress=False)
    with pytest.raises(ValueError, match="fill_to"):
        export_submission(painter(), jpeg_folder, tmp_path / "a.zip", fill_to=20_000, progress=False)
    fixed = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Conv2D(3, 1)])
    with pytest.raises(ValueError, match="64x64.*infer_size=64"):
        export_submission(fixed, jpeg_folder, tmp_path / "a.zip", fill_to=7000, progress=False)


def test_bfloat16_inference_copy_is_close():
    from stx_tf.cyclegan.nets import resnet_generator
    from stx_tf.submission import inference_model

    gen = resnet_generator(filters=16, res_blocks=1)  # blocks 64 wide: Winograd's on a CPU
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    engine = inference_model(gen, "float32")  # the CPU engine's rewrite (stx_tf.engine): the same maths
    assert engine is not gen and {"InstanceNorm", "WinogradConv"} <= {type(layer).__name__ for layer in engine.layers}
    np.testing.assert_allclose(engine.predict_on_batch(x), gen.predict_on_batch(x), atol=1e-4)
    fast = inference_model(gen, "bfloat16")
    assert fast.layers[1].compute_dtype == "bfloat16" and fast.output.dtype == "float32"
    np.testing.assert_allclose(fast.predict_on_batch(x), gen.predict_on_batch(x), atol=0.03)
    with pytest.raises(ValueError, match="precision"):
        inference_model(gen, "fp8")


class _ShapeRecorder:
    """A stand-in generator that records the batch shapes it is called with and paints ``-x``."""

    input_shape = (None, None, None, 3)

    def __init__(self):
        self.shapes = []

    def predict_on_batch(self, x):
        self.shapes.append(x.shape)
        return -x


def test_short_last_batch_is_padded_to_one_traced_shape():
    """A short last batch is padded (the compiled net is not traced again) and its outputs cut back."""
    from stx_tf.submission.export import paint_batch

    gen = _ShapeRecorder()
    images = np.random.default_rng(0).uniform(-1, 1, (3, 8, 8, 3)).astype("float32")
    out = paint_batch(gen.predict_on_batch, images, 8)
    assert gen.shapes == [(8, 8, 8, 3)] and out.shape == images.shape
    np.testing.assert_array_equal(out, -images)
    assert paint_batch(gen.predict_on_batch, images, 3).shape == images.shape  # full batch: as it is
