"""stx_tf.cyclegan.planner: the run plan's arithmetic, applying it, and a measured plan on tiny data."""

from __future__ import annotations

import time

import numpy as np
import pytest
import tensorflow as tf

from stx_tf.cyclegan.config import CycleGANConfig
from stx_tf.cyclegan.planner import KAGGLE_LIMITS, RunPlan, plan_run, session_elapsed

TINY = {"filters": 4, "res_blocks": 1, "disc_filters": 4, "image_size": 32}


def make_plan(**changes) -> RunPlan:
    values = dict(
        device="tpu",
        limit=3 * 3600.0,
        elapsed=600.0,
        compile_seconds=60.0,
        step_seconds=0.5,
        steps_per_epoch=1000,
        epoch_overhead=20.0,
        export_images=7038,
        export_rate=50.0,
        reserve=900.0,
        requested_epochs=30,
        epochs=30,
        made_at=time.monotonic(),
    )
    values.update(changes)
    plan = RunPlan(**values)
    plan.epochs = plan.epochs_that_fit()
    return plan


def test_plan_arithmetic_cuts_the_epochs_to_the_limit():
    plan = make_plan()
    assert plan.epoch_seconds == pytest.approx(520.0)
    assert plan.export_seconds == pytest.approx(140.76)
    assert plan.budget == pytest.approx(10800 - 600 - 140.76 - 900)
    assert plan.epochs == 17 and plan.fits  # floor((9159.24 - 60) / 520)
    assert plan.training_seconds <= plan.budget < plan.training_seconds + plan.epoch_seconds
    assert "30 epochs requested, 17 fit" in plan.summary()


def test_scoring_during_training_is_counted():
    plan = make_plan(score_seconds=100.0, score_every=2)
    assert plan.epoch_seconds == pytest.approx(520.0 + 50.0)  # one scoring of 100 s every 2 epochs
    assert plan.epochs == 15  # floor((9159.24 - 60) / 570)
    assert "scoring during training" in plan.summary()


def test_apply_sets_epochs_decay_and_the_time_budget():
    plan = make_plan()
    config = CycleGANConfig(epochs=30, decay_epochs=15)
    planned = plan.apply(config)
    assert planned.epochs == 17 and planned.decay_epochs == 8  # the decay phase scaled alike
    assert planned.time_budget == pytest.approx(plan.budget, abs=2)
    assert config.epochs == 30  # the original is left alone
    # enough time: nothing cut, but the budget still guards the deadline
    roomy = make_plan(limit=5 * 3600.0, step_seconds=0.1)
    assert roomy.epochs == 30 and "all 30 epochs fit" in roomy.summary()
    assert roomy.apply(config).epochs == 30 and roomy.apply(config).time_budget is not None
    # a resumed run: the epochs already done count
    resumed = make_plan(requested_epochs=10, epochs=10, initial_epoch=20, step_seconds=0.1)
    assert resumed.apply(config).epochs == 30


def test_no_limit_and_nothing_fits():
    local = make_plan(limit=None)
    assert local.budget is None and local.fits and local.epochs == 30
    config = CycleGANConfig(epochs=30, decay_epochs=15)
    assert local.apply(config) is config and "no session limit" in local.summary()
    hopeless = make_plan(step_seconds=20.0)
    assert hopeless.epochs == 0 and not hopeless.fits
    assert "NOT EVEN ONE EPOCH FITS" in hopeless.summary()
    assert hopeless.apply(config).epochs == 1  # one (time-budgeted, shortened) epoch


def test_session_elapsed_is_this_process_age():
    age = session_elapsed()
    assert 0.0 < age < 24 * 3600


def tiny_competition(root):
    """6 photos and 3 paintings, 32 px, in the competition's folder layout."""
    from stx_tf.data.images import encode_jpeg
    from stx_tf.viz import to_uint8

    rng = np.random.default_rng(0)
    for folder, n in (("photo_jpg", 6), ("monet_jpg", 3)):
        (root / folder).mkdir(parents=True)
        for i, img in enumerate(to_uint8(rng.uniform(-1, 1, (n, 32, 32, 3)), signed=True)):
            (root / folder / f"{i}.jpg").write_bytes(encode_jpeg(img, 90))
    return root / "photo_jpg", root / "monet_jpg"


def test_plan_run_measures_on_tiny_data(tmp_path):
    photo_dir, monet_dir = tiny_competition(tmp_path)

    config = CycleGANConfig(**TINY, epochs=4, decay_epochs=2, batch_size=2, precision="float32")
    plan = plan_run(
        config,
        (photo_dir, monet_dir),
        strategy=tf.distribute.get_strategy(),
        place="kaggle",
        elapsed=100.0,
        export_batch=4,
    )
    assert plan.device == "cpu" and plan.limit == KAGGLE_LIMITS["cpu"]
    assert plan.steps_per_epoch == 3 and plan.step_seconds > 0 and plan.export_rate > 0
    assert plan.export_images == 7000  # fewer photos than required: the export fills up to 7,000
    assert plan.elapsed >= 100.0 and plan.epochs == 4
    planned = plan.apply(config)
    assert planned.epochs == 4 and 0 < planned.time_budget_seconds <= plan.budget
    png = plan.plot(tmp_path / "plan.png")
    assert (tmp_path / "plan.png").stat().st_size > 1000 and png is not None


def test_cli_plan(tmp_path, capsys):
    from stx_tf.cli import main

    tiny_competition(tmp_path / "data")
    options = ["--filters", "4", "--res-blocks", "1", "--disc-filters", "4", "--image-size", "32"]
    code = main(
        ["cyclegan", "plan", "--data-dir", str(tmp_path / "data"), *options, "--epochs", "3"]
        + ["--decay-epochs", "1", "--limit", "3h", "--elapsed", "60", "--plot", str(tmp_path / "plan.png")]
    )
    out = capsys.readouterr().out
    assert code == 0 and "training budget" in out and "--epochs 3 --decay-epochs 1 --time-budget" in out
    assert (tmp_path / "plan.png").is_file()
