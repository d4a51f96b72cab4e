"""The report on hand-made sweep folders: grouping, mean ± std, status counts, curves, files."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from convlab.report import build_report, group_runs, load_curves, load_runs, summarize
from convlab.report.summary import Stat, fmt_number
from convlab.runner.job_dirname import job_dirname
from convlab.runner.record import write_record


def make_job(sweep: Path, num: int, overrides: list[str], status: str, metrics: dict) -> Path:
    job = sweep / job_dirname(num, overrides)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if status != "missing":
        write_record(job, {"status": status, "metrics": metrics, "overrides": overrides,
                           "duration_s": 1.5, "steps": 10})  # fmt: skip
    return job


ACC = {("avg", 1): 0.80, ("avg", 2): 0.82, ("avg", 3): 0.83, ("max", 1): 0.88, ("max", 2): 0.87}


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """2 poolings × 3 seeds; max/seed 3 diverged; plus a killed job without a record."""
    sweep = tmp_path / "sweep"
    num = 0
    for pooling in ("avg", "max"):
        for seed in (1, 2, 3):
            overrides = [f"model.pooling={pooling}", f"seed={seed}", "trainer.max_epochs=2"]
            if (pooling, seed) in ACC:
                metrics = {"test/acc": ACC[pooling, seed], "val/acc": ACC[pooling, seed] - 0.01}
                make_job(sweep, num, overrides, "completed", metrics)
            else:
                make_job(sweep, num, overrides, "diverged", {"val/acc": math.nan})
            num += 1
    make_job(sweep, num, ["model.pooling=max", "seed=4", "trainer.max_epochs=2"], "missing", {})
    return sweep


def test_runs_keep_every_job_with_its_status(sweep):
    runs = load_runs(sweep)
    assert [run.status for run in runs] == ["completed"] * 5 + ["diverged", "missing"]
    assert [run.seed for run in runs] == ["1", "2", "3", "1", "2", "3", "4"]
    assert math.isnan(runs[5].metrics["val/acc"])  # NaN stored as "nan" reads back as NaN


def test_groups_are_overrides_minus_seed(sweep):
    groups = group_runs(load_runs(sweep))
    assert [g.settings for g in groups] == [{"model.pooling": "avg"}, {"model.pooling": "max"}]
    assert [len(g.runs) for g in groups] == [3, 4]


def test_summary_mean_std_and_counts(sweep):
    rows = summarize(group_runs(load_runs(sweep)), ["test/acc"])
    avg, mx = rows
    expected = [ACC["avg", s] for s in (1, 2, 3)]
    assert avg["test/acc"].mean == pytest.approx(statistics.fmean(expected))
    assert avg["test/acc"].std == pytest.approx(statistics.stdev(expected))
    assert avg["test/acc"].n == 3
    assert (mx["runs"], mx["completed"], mx["diverged"], mx["missing"]) == (4, 2, 1, 1)
    assert mx["test/acc"].n == 2  # the diverged and the missing run are counted, not averaged
    assert mx["test/acc"].mean == pytest.approx((0.88 + 0.87) / 2)


def test_stat_formatting():
    assert Stat.of([1.0, 2.0, 3.0]).format() == "2.000 ± 1.0"
    assert Stat.of([0.5]).format() == "0.5000 (n=1)"
    assert Stat.of([math.nan]).format() == "–"
    assert fmt_number(3.1e-7) == "3.10e-07"
    assert fmt_number(0.0123456) == "0.01235"
    assert fmt_number(12345.6) == "12346"


def test_report_writes_table_and_plots(sweep):
    report = build_report(sweep, quiet=True)
    text = (sweep / "report" / "results.md").read_text()
    assert "7 runs in 2 groups: 5 completed, 1 diverged, 1 missing." in text
    assert "Shared by every run: `trainer.max_epochs=2`." in text
    avg_row = next(line for line in text.splitlines() if line.startswith("| `avg`"))
    assert Stat.of([0.80, 0.82, 0.83]).format() in avg_row
    max_row = next(line for line in text.splitlines() if line.startswith("| `max`"))
    assert max_row.split(" | ")[1:5] == ["4", "2", "1", "1"]  # runs, completed, diverged, missing
    assert (sweep / "report" / "final_test_acc.png").stat().st_size > 1000
    assert report.figures  # the final plots exist even without any curves


def test_curves_from_csv_log(tmp_path):
    run = tmp_path / "run"
    (run / "csv").mkdir(parents=True)
    (run / "csv" / "metrics.csv").write_text(
        "epoch,step,train/loss_step,val/loss\n0,5,0.9,\n0,9,,0.7\n1,19,,0.5\n"
    )
    assert load_curves(run) == {"val/loss": [(1, 0.7), (2, 0.5)]}


def test_cli_help_and_missing_folder(tmp_path):
    helped = subprocess.run([sys.executable, "-m", "convlab.report", "--help"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert helped.returncode == 0 and "SWEEP_DIR" in helped.stdout
    missing = subprocess.run([sys.executable, "-m", "convlab.report", str(tmp_path / "nope")],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1].startswith("error: ")


def test_record_round_trip_keeps_overrides(sweep):
    job = next(sweep.glob("0_*"))
    assert json.loads((job / "metrics.json").read_text())["overrides"][0] == "model.pooling=avg"
