"""Real runs in a real TensorBoard, read over its HTTP API: a tree as ``outputs/`` holds it (a
LeNet run, an edge_kernel run, a 4-job sweep, a ``members=2`` run) shows one HParams table with
every run's final metrics and the keys that vary first; one sweep's folder shows what the sweep
varied; the scalars share one step axis and one name per quantity.

The browser test opens the HParams and Scalars dashboards over the tree in headless Chromium
(skipped without it) and saves the screenshots in its tmp folder; with
``CONVLAB_SCREENSHOT_DIR=docs/img`` it also writes them there:

    CONVLAB_SCREENSHOT_DIR=docs/img python -m pytest tests/callbacks/test_hparams_tab.py -k browser
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from convlab.report.tensorboard_index import INDEX, write_index
from tests.callbacks.tb_server import default_columns, get_json, session_groups, tensorboard
from tests.conftest import make_fashion_fixture, run_batch_ok

SWEPT = ["optimizer=sgd,adam", "seed=1,2"]
# The callbacks that put every scalar at its optimizer step and log one ``lr``. Forced on with
# ``++`` (a no-op once conf/callbacks/default.yaml lists them the same way).
STEP_AND_LR = [
    "++callbacks.step_axis._target_=convlab.callbacks.step_axis.OptimizerStepAxis",
    "++callbacks.lr_monitor._target_=convlab.callbacks.lr_logger.LearningRateLogger",
]
FINAL_METRICS = {"val/loss", "val/mae", "val/mse", "test/loss", "test/mae", "test/mse"}
# Folders as Hydra names them (<time>-<id>); the ids name the HParams rows.
LENET, EDGE = (
    "lenet_modern/runs/2026-01-01_00-00-00-lenet1",
    "edge_kernel/runs/2026-01-01_00-00-01-edge01",
)
SWEEP = "max_regression/multiruns/2026-01-01_00-00-02-sweep1"
MEMBERS = "max_regression/runs/2026-01-01_00-00-03-membr1"


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """Real experiments at their defaults, shortened through the budget. max_regression (batch
    size 1, 20 optimizer steps per trainer batch): SGD and Adam, seeds 1 and 2, 200 training
    pairs, 2 epochs; Adam's 2 seeds again as ``members=2`` (their curves lie on the sweep's);
    lenet_modern 1 epoch on a generated Fashion-MNIST; edge_kernel 2 steps, at the others'
    learning rate (a column that does not vary)."""
    root = tmp_path_factory.mktemp("hparams")
    fashion = make_fashion_fixture(root / "fashion", n_train=300, n_test=100)
    tree = root / "outputs"
    regression = ["experiment=max_regression", "data.n_train=200"]
    run_batch_ok(
        [["experiment=lenet_modern", f"data.data_dir={fashion}", "data.system_dir=null",
          "data.download=false", "data.val_size=60", "data.batch_size=60",
          "trainer.max_epochs=1", "callbacks.rich_progress_bar=null",
          f"hydra.run.dir={tree / LENET}"],
         ["experiment=edge_kernel", "trainer.max_epochs=2", "optimizer.lr=0.001",
          f"hydra.run.dir={tree / EDGE}"],
         ["-m", *regression, "trainer.max_epochs=2", *SWEPT, *STEP_AND_LR,
          f"hydra.sweep.dir={tree / SWEEP}"],
         [*regression, "trainer.max_epochs=2", "members=2", "seed=1",
          f"hydra.run.dir={tree / MEMBERS}"]],
        root,
    )  # fmt: skip
    return tree


@pytest.fixture
def sweep(tree: Path) -> Path:
    return tree / SWEEP


def _records(sweep: Path) -> dict[str, dict]:
    return {path.parent.name: json.loads(path.read_text()) for path in sweep.glob("*/metrics.json")}


def test_one_table_over_a_tree_of_experiments_sweeps_and_members(tree: Path):
    write_index(tree / SWEEP)  # left by serving the sweep on its own: it would compete
    write_index(tree)
    assert not (tree / SWEEP / INDEX).exists()
    with tensorboard(tree, wait_for_runs=9) as base:  # 8 runs and the index
        experiment = get_json(f"{base}/data/plugin/hparams/experiment",
                              {"experimentName": "", "hparamsLimit": 1000})  # fmt: skip
        hparams, metrics = default_columns(base)
        groups = session_groups(base)
    # One row per run, named by its folder's id, the values its sweep varied, a member's seed:
    # short enough for the Trial ID column (before: "max_regression/multiruns/2026-...").
    names = {group["name"]: group for group in groups}
    assert sorted(names) == sorted(["lenet1", "edge01", "sweep1/sgd,1", "sweep1/sgd,2",
                                    "sweep1/adam,1", "sweep1/adam,2", "membr1/seed=1",
                                    "membr1/seed=2"])  # fmt: skip
    assert all(len(name) <= 15 for name in names)

    # The keys whose values differ across the runs (or that some runs lack) come first, then
    # the others: each run type's keys, not the first run's.
    keys = {info["name"] for info in experiment["hparamInfos"]}
    cells = {key: {json.dumps(group["hparams"].get(key)) for group in groups} for key in keys}
    varying = sorted(key for key in keys if len(cells[key]) > 1)
    assert varying == ["data.batch_size", "model", "optimizer", "seed"]
    assert [info["name"] for info in experiment["hparamInfos"] if info["differs"]] == varying
    assert hparams == [*varying, "optimizer.lr"]  # 0.001 in every run

    # The metrics every run has (each task's own differ), every cell filled; a cell is the
    # run's metrics.json value.
    assert metrics == ["val/loss", "test/loss", "train/loss"]
    assert [info["name"]["tag"] for info in experiment["metricInfos"]] == metrics
    for group in groups:
        (session,) = group["sessions"]
        assert session["status"] == "STATUS_SUCCESS"
        values = {value["name"]["tag"]: value["value"] for value in group["metricValues"]}
        assert set(values) == set(metrics), group["name"]
        record = json.loads((tree / session["name"] / "metrics.json").read_text())
        for name in ("val/loss", "test/loss"):
            assert values[name] == pytest.approx(record["metrics"][name], rel=1e-6)


def test_default_columns_are_the_swept_keys_and_the_final_metrics(sweep: Path):
    records = _records(sweep)
    assert len(records) == 4
    write_index(sweep)  # as `make tensorboard LOGDIR=<sweep>` does
    with tensorboard(sweep, wait_for_runs=5) as base:  # 4 runs and the index
        hparams, metrics = default_columns(base)
        groups = session_groups(base)
        runs = get_json(f"{base}/data/runs")
    # Before: data._target_, data.batch_size, ...; epoch, lr-Adam, lr-SGD, test/loss, test/mae.
    assert hparams[:2] == ["optimizer", "seed"]  # what the sweep varied, first
    assert set(hparams[2:]) <= {"model", "optimizer.lr", "data.batch_size"}
    assert metrics[:2] == ["val/mae", "test/mae"]  # the monitored metric and its test twin
    assert set(metrics) <= FINAL_METRICS | {"train/loss"}

    # A run is named after its folder (no tensorboard/ level); one row per run, all drawn.
    assert sorted(runs) == sorted([*records, "."])
    assert len(groups) == 4
    for group in groups:
        (session,) = group["sessions"]
        record = records[session["name"]]
        assert session["status"] == "STATUS_SUCCESS"
        optimizer, seed = group["hparams"]["optimizer"], group["hparams"]["seed"]
        assert group["name"] == f"sweep1/{optimizer},{seed}"
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
    assert {"train/loss", "val/mae", "test/mae", "train/lr"} <= tags
    assert not {"epoch", "train/loss_step", "train/loss_epoch"} & tags
    assert not any(tag.startswith("lr-") for tag in tags)
    # 200 pairs at batch size 1 for 2 epochs: 400 optimizer steps (20 per trainer batch).
    assert record["steps"] == 400
    assert [event.step for event in events.Scalars("val/mae")] == [200, 400]
    assert [event.step for event in events.Scalars("train/loss")] == [200, 400]
    assert [event.step for event in events.Scalars("train/lr")] == [0, 200]
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


def screenshot(base: str, fragment: str, path: Path, size: str) -> None:
    """The page at ``base/#fragment`` as headless Chromium draws it, once 20 s of page time
    have run (the dashboards fetch their data after loading)."""
    result = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={path.parent / 'chromium'}", "--hide-scrollbars",
         f"--window-size={size}", "--virtual-time-budget=20000", f"--screenshot={path}",
         f"{base}/#{fragment}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000  # drawn, not a blank page


@pytest.mark.skipif(_chromium() is None, reason="needs chromium (apt-get install chromium)")
def test_hparams_and_scalars_in_a_browser(tree: Path, tmp_path: Path):
    """docs/img/hparams.png: one row per run, the varying keys first, every metric cell filled
    (the API test above checks what it shows); docs/img/scalars.png: four runs ticked, two
    lines drawn: each member's curves lie on those of the sweep's Adam run of its seed."""
    write_index(tree)
    # The sweep's Adam runs and the members of the same seeds, train/loss and val/mae, unsmoothed.
    overlaid = ("scalars&tagFilter=%5E(train%2Floss%7Cval%2Fmae)%24&regexInput=adam%7Cmembr1"
                "&_smoothingWeight=0")  # fmt: skip
    shots = {"hparams.png": ("hparams", "1900,480"), "scalars.png": (overlaid, "1100,880")}
    with tensorboard(tree, wait_for_runs=9) as base:
        for name, (fragment, size) in shots.items():
            screenshot(base, fragment, tmp_path / name, size)
    if target := os.environ.get("CONVLAB_SCREENSHOT_DIR"):
        Path(target).mkdir(parents=True, exist_ok=True)
        for name in shots:
            shutil.copyfile(tmp_path / name, Path(target) / name)
