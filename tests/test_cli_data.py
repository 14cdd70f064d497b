"""``stx data …`` end to end through the real entry point."""

from __future__ import annotations

from stx_tf.cli import main


def test_help_lists_commands(capsys):
    assert main([]) == 2
    assert "data" in capsys.readouterr().out


def test_inspect_and_to_tfrecords(jpeg_folder, tmp_path, capsys):
    out = tmp_path / "rec"
    assert (
        main(["data", "to-tfrecords", str(jpeg_folder), str(out), "--prefix", "monet", "--shards", "2"]) == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["monet00-3.tfrec", "monet01-3.tfrec"]
    grid = tmp_path / "grid.png"
    assert main(["data", "inspect", str(out), "--grid", str(grid), "-n", "4"]) == 0
    text = capsys.readouterr().out
    assert "images: 6" in text and "(256, 256, 3)" in text and "img00" in text
    assert grid.is_file()


def test_bad_path_is_one_clear_line(tmp_path, capsys):
    assert main(["data", "inspect", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stx: error:") and "no such file or folder" in err and "Traceback" not in err


def test_real_monet_inspect(competition_dir, tmp_path, capsys):
    grid = tmp_path / "monet.png"
    assert main(["data", "inspect", str(competition_dir / "monet_tfrec"), "--grid", str(grid)]) == 0
    text = capsys.readouterr().out
    assert "images: 300" in text and "25c9904782" in text
