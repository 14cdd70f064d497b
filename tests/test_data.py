"""stx_tf.data: schema, round trip, bad inputs, conversions, pairing, augmentation, discovery."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from stx_tf import data
from stx_tf.data import tfrecords as tfr


def _names(ds):
    return [n.numpy().decode() for _, n in ds]


# --- schema and round trip ---------------------------------------------------------------------------


def test_write_uses_competition_schema_and_shard_names(jpeg_folder, tmp_path):
    shards = data.write_tfrecords(
        data.list_images(jpeg_folder), tmp_path / "rec", prefix="monet", per_shard=4
    )
    assert [p.name for p in shards] == ["monet00-4.tfrec", "monet01-2.tfrec"]
    raw = next(iter(tf.data.TFRecordDataset(str(shards[0])))).numpy()
    feats = tf.train.Example.FromString(raw).features.feature
    assert set(feats) == {"image", "image_name", "target"}
    assert feats["target"].bytes_list.value[0] == b"monet"
    assert feats["image_name"].bytes_list.value[0] == b"img00"
    assert data.count_records(tmp_path / "rec") == 6
    assert data.count_records(tmp_path / "rec", trust_names=False) == 6


def test_round_trip_is_lossless(jpeg_folder, tmp_path):
    data.write_tfrecords(jpeg_folder, tmp_path / "rec", prefix="photo", n_shards=2)
    from_folder = {
        n.numpy().decode(): i.numpy() for i, n in data.read_image_folder(jpeg_folder, with_names=True)
    }
    from_rec = {
        n.numpy().decode(): i.numpy() for i, n in data.read_tfrecords(tmp_path / "rec", with_names=True)
    }
    assert from_folder.keys() == from_rec.keys()
    for name, image in from_rec.items():
        assert image.shape == (256, 256, 3) and image.dtype == np.float32
        assert -1.0 <= image.min() and image.max() <= 1.0
        np.testing.assert_array_equal(image, from_folder[name])
    for raw in tf.data.TFRecordDataset(sorted(str(p) for p in (tmp_path / "rec").iterdir())):
        feats = tf.train.Example.FromString(raw.numpy()).features.feature
        name = feats["image_name"].bytes_list.value[0].decode()
        assert feats["image"].bytes_list.value[0] == (jpeg_folder / f"{name}.jpg").read_bytes()


def test_read_tfrecords_glob_and_resize(jpeg_folder, tmp_path):
    data.write_tfrecords(jpeg_folder, tmp_path, prefix="photo", per_shard=3)
    images = list(data.read_tfrecords(str(tmp_path / "photo*.tfrec"), size=64))
    assert len(images) == 6 and images[0].shape == (64, 64, 3)


# --- bad input ---------------------------------------------------------------------------------------


def _write_raw(path, payloads):
    with tf.io.TFRecordWriter(str(path)) as w:
        for p in payloads:
            w.write(p)


def _good_record(rgb_factory, name="a"):
    buf = io.BytesIO()
    Image.fromarray(rgb_factory(1, 32)).save(buf, format="JPEG")
    return tfr.make_example(buf.getvalue(), name, "photo")


def test_truncated_tfrecord_names_file_and_record(tmp_path, rgb_factory):
    path = tmp_path / "photo00-3.tfrec"
    _write_raw(path, [_good_record(rgb_factory, str(i)) for i in range(3)])
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 50])
    with pytest.raises(ValueError, match=r"photo00-3\.tfrec.*record 2.*truncated"):
        data.read_tfrecords(path)
    with pytest.raises(ValueError, match="truncated"):
        data.count_records(path, trust_names=False)
    assert len(list(data.read_tfrecords(path, skip_bad=True, size=32))) == 2


def test_record_without_image_and_non_jpeg(tmp_path, rgb_factory):
    no_image = tf.train.Example(
        features=tf.train.Features(feature={"image_name": tfr._bytes_feature(b"x")})
    ).SerializeToString()
    buf = io.BytesIO()
    Image.fromarray(rgb_factory(2, 32)).save(buf, format="PNG")
    png = tfr.make_example(buf.getvalue(), "png", "photo")
    path = tmp_path / "bad.tfrec"
    _write_raw(path, [_good_record(rgb_factory), no_image, png])
    with pytest.raises(
        ValueError, match=r"bad\.tfrec: record 1: has no 'image' feature.*record 2: 'image' is not JPEG"
    ):
        data.read_tfrecords(path)
    kept = list(data.read_tfrecords(path, skip_bad=True, size=32, with_names=True))
    assert [n.numpy() for _, n in kept] == [b"a"]


def test_missing_paths_and_empty_folder(tmp_path):
    with pytest.raises(ValueError, match="no such file or folder"):
        data.read_tfrecords(tmp_path / "nope.tfrec")
    with pytest.raises(ValueError, match="no TFRecord files match"):
        data.read_tfrecords(str(tmp_path / "*.tfrec"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images found"):
        data.read_image_folder(tmp_path / "empty")
    with pytest.raises(ValueError, match="no such folder"):
        data.list_images(tmp_path / "missing")


def test_non_image_file_in_folder(jpeg_folder):
    (jpeg_folder / "notes.txt").write_text("hello")
    (jpeg_folder / "fake.jpg").write_text("not a jpeg")
    with pytest.raises(ValueError, match=r"fake\.jpg: not a readable image.*1 more"):
        data.list_images(jpeg_folder)
    assert len(data.list_images(jpeg_folder, skip_bad=True)) == 6


def test_modes_and_sizes_become_rgb_squares(tmp_path, rgb_factory):
    rgb = rgb_factory(3, 80)
    folder = tmp_path / "modes"
    folder.mkdir()
    Image.fromarray(rgb).convert("L").save(folder / "gray.jpg")
    Image.fromarray(rgb).convert("P").save(folder / "palette.png")
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "rgba.png")
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(folder / "deep.png")
    Image.fromarray(rgb_factory(4, 300)[:, :200]).save(folder / "tall.jpg")
    images = dict(_pairs(data.read_image_folder(folder, size=64, with_names=True)))
    assert set(images) == {"gray", "palette", "rgba", "cmyk", "deep", "tall"}
    for image in images.values():
        assert image.shape == (64, 64, 3)
    gray = images["gray"]
    np.testing.assert_allclose(gray[..., 0], gray[..., 1], atol=1e-6)
    assert images["rgba"].mean() > images["palette"].mean()  # alpha composited on white
    cmyk_pil = data.fit_square(data.read_image_file(folder / "cmyk.jpg"), 64).astype(np.float32) / 127.5 - 1
    assert np.abs(images["cmyk"] - cmyk_pil).mean() < 0.1


def _pairs(ds):
    for image, name in ds:
        yield name.numpy().decode(), image.numpy()


def test_load_image_rules(tmp_path, rgb_factory):
    Image.fromarray(rgb_factory(5, 20)).save(tmp_path / "tiny.png")
    with pytest.raises(ValueError, match="too small"):
        data.load_image(tmp_path / "tiny.png")
    Image.fromarray(rgb_factory(6, 300)).save(tmp_path / "big.png")
    assert data.load_image(tmp_path / "big.png", max_dim=100).shape == (100, 100, 3)
    (tmp_path / "bad.jpg").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match=r"bad\.jpg: not a readable image") as err:
        data.load_image(tmp_path / "bad.jpg")
    assert "BytesIO" not in str(err.value)  # names the file, not PIL's buffer


def test_zip_source(tmp_path, jpeg_folder):
    zpath = tmp_path / "images.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(jpeg_folder.iterdir()):
            zf.write(p, p.name)
    assert data.count_images(zpath) == 6
    assert _names(data.load_images(zpath, with_names=True)) == [f"img{i:02d}" for i in range(6)]
    with zipfile.ZipFile(zpath, "a") as zf:
        zf.writestr("readme.txt", "x")
    with pytest.raises(ValueError, match="readme.txt"):
        data.load_images(zpath)


# --- augmentation, DiffAugment, pipelines ------------------------------------------------------------


def test_augment_shapes_and_ranges():
    image = tf.random.uniform((64, 64, 3), -1, 1)
    assert data.augment(image, size=64, rot90=True).shape == (64, 64, 3)
    assert data.random_jitter(image, 64).shape == (64, 64, 3)
    raw = tf.cast(tf.random.uniform((80, 80, 3), 0, 256, dtype=tf.int32), tf.uint8)
    out = data.augmenter(64, rot90=True)(raw)
    assert out.shape == (64, 64, 3) and out.dtype == tf.float32
    assert -1.0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 1.0


def test_jitter_is_a_286_to_256_style_window_and_flip_mirrors():
    ramp = tf.tile(tf.reshape(tf.linspace(-1.0, 1.0, 40), (1, 40, 1)), (40, 1, 3))
    slopes = []
    for _ in range(40):
        out = data.augment(ramp, size=32, jitter=True, flip=True).numpy()
        slopes.append(out[0, -1, 0] - out[0, 0, 0])
    slopes = np.array(slopes)
    assert (slopes > 0).any() and (slopes < 0).any()  # some mirrored, some not
    window = round(40 * 256 / 286)  # 36 of 40 source pixels survive the jitter
    np.testing.assert_allclose(np.abs(slopes), 2.0 * (window - 1) / 39, atol=0.08)


def test_read_tfrecords_uint8(jpeg_folder, tmp_path):
    data.write_tfrecords(jpeg_folder, tmp_path, prefix="photo", per_shard=6)
    image = next(iter(data.read_tfrecords(tmp_path, dtype="uint8")))
    assert image.dtype == tf.uint8 and image.shape == (256, 256, 3)


def test_encoded_sources_yield_the_bytes(jpeg_folder, tmp_path):
    data.write_tfrecords(jpeg_folder, tmp_path / "rec", prefix="photo", per_shard=6)
    first = sorted(jpeg_folder.glob("*.jpg"))[0].read_bytes()
    for source in (jpeg_folder, tmp_path / "rec"):
        encoded = next(iter(data.load_images(source, encoded=True)))
        assert encoded.dtype == tf.string and encoded.numpy() == first
    image, name = next(iter(data.load_images(tmp_path / "rec", encoded=True, with_names=True)))
    assert image.numpy() == first and name.numpy() == b"img00"


def _jpeg(rgb, fmt="JPEG"):
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt, quality=95)
    return tf.constant(buf.getvalue())


@pytest.mark.parametrize("shape", [(256, 256), (300, 400), (600, 450)])
def test_decode_jitter_matches_decode_then_jitter(rgb_factory, shape):
    """Without jitter the window is the whole centre square: the same image as decode → fit to size."""
    from stx_tf.data.augment import decode_jitter
    from stx_tf.data.decode import decode_image

    rgb = np.asarray(Image.fromarray(rgb_factory(1, 600)).resize(shape[::-1]))
    encoded = _jpeg(rgb)
    whole = decode_image(encoded, 128).numpy()
    fused = decode_jitter(encoded, 128, jitter_size=128).numpy()
    assert fused.shape == (128, 128, 3) and np.abs(fused - whole).mean() < 0.03
    jittered = decode_jitter(encoded, 128).numpy()  # a 128·128/143 window, resized
    assert jittered.shape == (128, 128, 3) and -1 <= jittered.min() and jittered.max() <= 1
    assert np.abs(jittered - whole).mean() > 0.01


def test_augment_takes_encoded_jpeg_and_png(rgb_factory):
    rgb = rgb_factory(2, 64)
    for encoded in (_jpeg(rgb), _jpeg(rgb, "PNG")):
        for jitter in (True, False):
            out = data.augment(encoded, size=48, jitter=jitter)
            assert out.shape == (48, 48, 3) and out.dtype == tf.float32
    photos = tf.data.Dataset.from_tensors(_jpeg(rgb)).repeat(4)
    paired, steps = data.pair_domains(photos, photos.take(2), 2, augment_fn=data.augmenter(32))
    a, b = next(iter(paired))
    assert steps == 2 and a.shape == b.shape == (2, 32, 32, 3)
    corrupt = tf.data.Dataset.from_tensors(tf.constant(b"\xff\xd8\xff" + b"\0" * 50))
    paintings = corrupt.concatenate(photos.take(1))  # the repeating domain: bad images are dropped
    paired, _ = data.pair_domains(photos, paintings, 2, augment_fn=data.augmenter(32), skip_errors=True)
    assert [b.shape[0] for _, b in paired] == [2, 2]


def test_diff_augment_is_differentiable():
    x = tf.Variable(tf.random.uniform((4, 32, 32, 3), -1, 1))
    with tf.GradientTape() as tape:
        y = data.diff_augment(x)
        loss = tf.reduce_sum(y)
    assert y.shape == x.shape
    grad = tape.gradient(loss, x)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0
    with pytest.raises(ValueError, match="unknown DiffAugment policy"):
        data.diff_augment(x, "colour")


def test_pair_domains_covers_the_larger_domain():
    photos = tf.data.Dataset.range(10).map(lambda i: tf.fill((2, 2, 3), tf.cast(i, tf.float32)))
    paintings = tf.data.Dataset.range(3).map(lambda i: tf.fill((2, 2, 3), 100.0 + tf.cast(i, tf.float32)))
    paired, steps = data.pair_domains(photos, paintings, batch_size=2)
    assert steps == 5
    for _ in range(2):  # every epoch sees each photo exactly once; paintings repeat
        seen_a, seen_b = [], []
        for a, b in paired:
            seen_a += a[:, 0, 0, 0].numpy().tolist()
            seen_b += b[:, 0, 0, 0].numpy().tolist()
        assert sorted(seen_a) == list(range(10))
        assert len(seen_b) == 10 and set(seen_b) == {100.0, 101.0, 102.0}
    with pytest.raises(ValueError, match="larger than both"):
        data.pair_domains(photos, paintings, batch_size=16)


def test_make_pipeline_batches_and_repeats():
    ds = tf.data.Dataset.range(5).map(lambda i: tf.cast(i, tf.float32))
    batches = list(data.make_pipeline(ds, 2, shuffle=False, repeat=True).take(4))
    assert [b.shape[0] for b in batches] == [2, 2, 2, 2]
    assert len(list(data.make_pipeline(ds, 2, shuffle=True, cache=True))) == 2
    images = tf.data.Dataset.from_tensor_slices(tf.zeros((6, 40, 40, 3), tf.uint8))
    batch = next(iter(data.make_pipeline(images, 3, augment_fn=data.augmenter(32))))
    assert batch.shape == (3, 32, 32, 3) and batch.dtype == tf.float32


# --- discovery and the embedded sample ---------------------------------------------------------------


def test_embedded_sample_is_in_competition_format():
    found = data.find_competition_data(allow_sample=True)
    assert found.is_sample
    assert found.counts() == (60, 120)
    names = [p.name for p in sorted((data.embedded_sample() / "monet_tfrec").iterdir())]
    assert names == ["monet00-15.tfrec", "monet01-15.tfrec", "monet02-15.tfrec", "monet03-15.tfrec"]
    image = next(iter(data.load_images(found.photo)))
    assert image.shape == (256, 256, 3)


def test_find_competition_data_argument_and_env(tmp_path, monkeypatch, jpeg_folder):
    root = tmp_path / "comp"
    (root / "monet_jpg").mkdir(parents=True)
    (root / "photo_jpg").mkdir()
    for p in jpeg_folder.iterdir():
        (root / "photo_jpg" / p.name).write_bytes(p.read_bytes())
    (root / "monet_jpg" / "m.jpg").write_bytes((jpeg_folder / "img00.jpg").read_bytes())
    assert data.find_competition_data(root).counts() == (1, 6)
    monkeypatch.setenv("STX_DATA_DIR", str(root))
    assert data.find_competition_data().origin == "STX_DATA_DIR"
    with pytest.raises(ValueError, match="not the competition layout"):
        data.find_competition_data(tmp_path / "nowhere")


def _competition_layout(root: Path) -> Path:
    for name in ("monet_tfrec/monet00-60.tfrec", "photo_tfrec/photo00-352.tfrec"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")  # discovery only looks at names
    return root


@pytest.mark.parametrize(
    "mount",
    ["gan-getting-started", "competitions/gan-getting-started", "datasets/someone/monet-copy"],
    ids=["classic", "competitions", "dataset-3-deep"],
)
def test_kaggle_input_is_searched_at_any_mount(tmp_path, monkeypatch, mount):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STX_KAGGLE_INPUT", str(tmp_path / "input"))
    (tmp_path / "input" / "stx-tf-wheel").mkdir(parents=True)
    root = _competition_layout(tmp_path / "input" / mount)
    found = data.find_competition_data(allow_sample=False)
    assert Path(found.root) == root and found.monet == str(root / "monet_tfrec")


def test_gcs_path_only_when_asked_for_a_legacy_tpu_node(tmp_path, monkeypatch):
    from stx_tf.data import discover

    monkeypatch.setenv("STX_KAGGLE_INPUT", str(tmp_path / "input"))
    local = _competition_layout(tmp_path / "input" / "gan-getting-started")
    monkeypatch.setattr(discover, "kaggle_gcs_path", lambda: "gs://kds-0123")
    assert data.find_competition_data().root == str(local)
    remote = data.find_competition_data(gcs=True)
    assert remote.origin == "Kaggle GCS" and remote.monet == "gs://kds-0123/monet_tfrec/*.tfrec"


def test_no_data_outside_smoke_mode_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STX_SMOKE", raising=False)
    monkeypatch.setenv("STX_KAGGLE_INPUT", str(tmp_path / "input"))
    with pytest.raises(ValueError, match="competition data not found.*allow_sample=True"):
        data.find_competition_data()
    assert data.find_competition_data(allow_sample=True).is_sample
    monkeypatch.setenv("STX_SMOKE", "1")
    assert data.find_competition_data().is_sample
    with pytest.raises(ValueError, match="competition data not found"):
        data.find_competition_data(allow_sample=False)


# --- the real competition files (skipped without ../shared) ------------------------------------------


def test_real_monet_tfrecords(competition_dir):
    tfrec = competition_dir / "monet_tfrec"
    assert data.count_records(tfrec) == 300
    assert data.count_records(tfrec, trust_names=False) == 300
    report = data.scan_tfrecords(tfrec)
    assert report.records == 300 and not report.problems
    names = _names(data.read_tfrecords(tfrec, with_names=True))
    assert len(names) == 300 and len(set(names)) == 300 and "25c9904782" in names


def test_real_photos_round_trip_pixel_identical(competition_dir, tmp_path):
    folder = competition_dir / "photo_jpg"
    data.write_tfrecords(folder, tmp_path, prefix="photo", n_shards=4)
    assert [p.name for p in sorted(tmp_path.glob("*.tfrec"))] == [f"photo0{i}-200.tfrec" for i in range(4)]
    from_rec = dict(_pairs(data.read_tfrecords(tmp_path, with_names=True)))
    assert len(from_rec) == 800
    for name in sorted(from_rec)[:200]:
        pixels = np.asarray(Image.open(folder / f"{name}.jpg").convert("RGB"), np.float32)
        tf_pixels = tf.io.decode_jpeg((folder / f"{name}.jpg").read_bytes()).numpy().astype(np.float32)
        np.testing.assert_array_equal(from_rec[name], tf_pixels / 127.5 - 1.0)
        assert np.abs(pixels - tf_pixels).mean() < 2.0  # same picture as PIL sees it


# --- the fast paths: JPEG-only augmentation, vectorised parsing, tf.data options ----------------------


def test_jpeg_only_augment_and_its_error(rgb_factory):
    rgb = rgb_factory(5, 64)
    whole = data.augment(_jpeg(rgb), size=64, jitter=False, flip=False).numpy()
    for flip in (False, True):
        out = data.augment(_jpeg(rgb), size=48, jpeg_only=True, flip=flip)
        assert out.shape == (48, 48, 3) and out.dtype == tf.float32
    from stx_tf.data.augment import decode_jitter

    # window = the whole image: the output is the image or its mirror, about half of each
    mirrored = []
    for _ in range(40):
        out = decode_jitter(_jpeg(rgb), 64, jitter_size=64, jpeg_only=True, flip=True).numpy()
        same, mirror = np.abs(out - whole).mean(), np.abs(out - whole[:, ::-1]).mean()
        assert min(same, mirror) < 1e-5
        mirrored.append(mirror < same)
    assert 8 <= sum(mirrored) <= 32
    with pytest.raises(tf.errors.InvalidArgumentError, match="not a JPEG"):
        data.augment(_jpeg(rgb, "PNG"), size=48, jpeg_only=True)


def test_all_jpeg(jpeg_folder, tmp_path, rgb_factory):
    assert data.all_jpeg(jpeg_folder)
    data.write_tfrecords(jpeg_folder, tmp_path / "rec", prefix="photo", per_shard=6)
    assert data.all_jpeg(tmp_path / "rec")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.fromarray(rgb_factory(1, 32)).save(mixed / "a.jpg")
    assert data.all_jpeg(mixed) and data.all_jpeg(mixed / "a.jpg")
    Image.fromarray(rgb_factory(2, 32)).save(mixed / "b.png")
    assert not data.all_jpeg(mixed)
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as zf:
        zf.write(mixed / "a.jpg", "a.jpg")
    assert data.all_jpeg(tmp_path / "z.zip")


def test_vectorised_parsing_keeps_every_record_and_its_name(jpeg_folder, tmp_path, monkeypatch):
    monkeypatch.setattr(tfr, "PARSE_BATCH", 4)  # 6 records: a full batch and a partial one
    data.write_tfrecords(jpeg_folder, tmp_path / "rec", prefix="photo", n_shards=2)
    files = {p.stem: p.read_bytes() for p in data.list_images(jpeg_folder)}
    pairs = {
        n.numpy().decode(): b.numpy()
        for b, n in data.read_tfrecords(tmp_path / "rec", encoded=True, with_names=True)
    }
    assert pairs == files
    decoded = dict(
        zip(
            _names(data.read_tfrecords(tmp_path / "rec", with_names=True)),
            data.read_tfrecords(tmp_path / "rec"),
        )
    )
    assert set(decoded) == set(files)


def test_single_pass_readers_turn_the_autotuner_off(monkeypatch, jpeg_folder):
    """Closing an autotuned iterator after minutes of reading waits up to a minute for the autotuner's
    thread: the export, the feature extractor and the scorer read their images in one pass without it."""
    from stx_tf.data import pipeline
    from stx_tf.metrics.features import iter_batches
    from stx_tf.submission.export import _stream
    from stx_tf.training.scoring import score_photos

    assert pipeline.one_pass(tf.data.Dataset.range(3)).options().autotune.enabled is False
    assert _stream(jpeg_folder, 32, 2, False, 0, 1, False).options().autotune.enabled is False
    passes = []
    real = pipeline.one_pass
    monkeypatch.setattr(pipeline, "one_pass", lambda ds: passes.append(real(ds)) or passes[-1])
    assert sum(len(names) for _, names in iter_batches(jpeg_folder, batch_size=4, size=32)) == 6
    assert score_photos(jpeg_folder, n=3, size=32).shape == (3, 32, 32, 3)
    assert [ds.options().autotune.enabled for ds in passes] == [False, False]


def test_pipelines_run_without_the_autotuner_unless_asked():
    """tf.data's autotuner makes deleting an iterator wait up to a minute (Keras fit returned ~24 s after
    its last step): every pipeline runs without it on any machine unless asked."""
    from stx_tf.data import pipeline

    assert pipeline.pipeline_options().autotune.enabled is False
    assert pipeline.pipeline_options(True).autotune.enabled is True
    images = tf.data.Dataset.from_tensor_slices(tf.zeros((4, 8, 8, 3)))
    ds = data.make_pipeline(images, 2)
    assert ds.options().autotune.enabled is False and len(list(ds)) == 2
    assert data.make_pipeline(images, 2, autotune=True).options().autotune.enabled is True
