"""A real 4-job sweep in a real TensorBoard: the HParams tab shows what the sweep varied and how
each run ended, the scalars share one step axis and one name per quantity.

The browser test (``slow``) opens the HParams tab in headless Chromium and saves a screenshot
in its tmp folder; with ``CONVLAB_SCREENSHOT_DIR=docs`` it also writes ``docs/hparams.png``:

    CONVLAB_SCREENSHOT_DIR=docs python -m pytest -m slow tests/callbacks/test_hparams_tab.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.callbacks.tb_server import default_columns, get_json, session_groups, tensorboard
from tests.conftest import run_script

SWEPT = ["optimizer=sgd,adam", "seed=1,2"]
# The callbacks that put every scalar at its optimizer step and log one ``lr``. Forced on with
# ``++`` (a no-op once conf/callbacks/default.yaml lists them the same way).
STEP_AND_LR = [
    "++callbacks.step_axis._target_=convlab.callbacks.step_axis.OptimizerStepAxis",
    "++callbacks.lr_monitor._target_=convlab.callbacks.lr_logger.LearningRateLogger",
]
FINAL_METRICS = {"val/loss", "val/mae", "val/mse", "test/loss", "test/mae", "test/mse"}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """max_regression at its defaults (batch size 1, 20 optimizer steps per trainer batch),
    shortened through the budget: 200 training pairs, 2 epochs; SGD and Adam, 2 seeds each."""
    sweep_dir = tmp_path_factory.mktemp("hparams") / "sweep"
    result = run_script(
        ["-m", "experiment=max_regression", "data.n_train=200", "trainer.max_epochs=2",
         *SWEPT, *STEP_AND_LR, f"hydra.sweep.dir={sweep_dir}"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return sweep_dir


def _records(sweep: Path) -> dict[str, dict]:
    return {path.parent.name: json.loads(path.read_text()) for path in sweep.glob("*/metrics.json")}


def test_default_columns_are_the_swept_keys_and_the_final_metrics(sweep: Path):
    records = _records(sweep)
    assert len(records) == 4
    with tensorboard(sweep, wait_for_runs=4) as base:
        hparams, metrics = default_columns(base)
        groups = session_groups(base)
        runs = get_json(f"{base}/data/runs")
    # Before: data._target_, data.batch_size, ...; epoch, lr-Adam, lr-SGD, test/loss, test/mae.
    assert hparams[:2] == ["optimizer", "seed"]  # what the sweep varied, first
    assert set(hparams[2:]) <= {"model", "optimizer.lr", "data.batch_size"}
    assert metrics[:2] == ["val/mae", "test/mae"]  # the monitored metric and its test twin
    assert set(metrics) <= FINAL_METRICS | {"train/loss"}

    # A run is named after its folder (no tensorboard/ level); one row per run, all drawn.
    assert sorted(runs) == sorted(records)
    assert len(groups) == 4
    for group in groups:
        record = records[group["name"]]
        assert group["sessions"][0]["status"] == "STATUS_SUCCESS"
        optimizer, seed = group["hparams"]["optimizer"], group["hparams"]["seed"]
        assert f"optimizer={optimizer}" in record["overrides"]
        assert f"seed={seed}" in record["overrides"]  # "1", not 1.0
        values = {value["name"]["tag"]: value["value"] for value in group["metricValues"]}
        # Every cell of the row is filled, so parallel coordinates draws every run.
        assert set(values) >= set(metrics)
        for name, value in record["metrics"].items():
            if name in values:
                assert values[name] == pytest.approx(value, rel=1e-6)


def test_scalars_have_one_name_each_and_count_optimizer_steps(sweep: Path):
    job = sorted(path.parent for path in sweep.glob("*/metrics.json"))[0]
    record = json.loads((job / "metrics.json").read_text())
    events = EventAccumulator(str(job), size_guidance={"scalars": 0}).Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "val/mae", "test/mae", "lr"} <= tags
    assert not {"epoch", "train/loss_step", "train/loss_epoch"} & tags
    assert not any(tag.startswith("lr-") for tag in tags)
    # 200 pairs at batch size 1 for 2 epochs: 400 optimizer steps (20 per trainer batch).
    assert record["steps"] == 400
    assert [event.step for event in events.Scalars("val/mae")] == [200, 400]
    assert [event.step for event in events.Scalars("train/loss")] == [200, 400]
    assert [event.step for event in events.Scalars("lr")] == [0, 200]
    assert [event.step for event in events.Scalars("test/mae")] == [400]


def test_custom_scalars_put_train_and_val_on_one_chart(sweep: Path):
    with tensorboard(sweep, wait_for_runs=4) as base:
        layout = get_json(f"{base}/data/plugin/custom_scalars/layout")
    (category,) = layout["category"]
    assert category["title"] == "train vs val"
    charts = {chart["title"]: chart["multiline"]["tag"] for chart in category["chart"]}
    assert charts["loss"] == ["^train/loss$", "^val/loss$"]
    assert charts["mae"] == ["^train/mae$", "^val/mae$"]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="needs chromium (apt-get install chromium)")
def test_hparams_tab_in_a_browser(sweep: Path, tmp_path: Path):
    screenshot = tmp_path / "hparams.png"
    with tensorboard(sweep, wait_for_runs=4) as base:
        hparams, metrics = default_columns(base)
        result = subprocess.run(
            [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}", "--hide-scrollbars",
             "--window-size=2400,440", "--virtual-time-budget=20000",
             f"--screenshot={screenshot}", f"{base}/#hparams"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a drawn table, not a blank page
    assert hparams[:2] == ["optimizer", "seed"] and metrics[0] == "val/mae"
    if target := os.environ.get("CONVLAB_SCREENSHOT_DIR"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, Path(target) / "hparams.png")
