"""The report on hand-made sweep folders: grouping, mean ± std, status counts, curves, files."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.collections import LineCollection, PathCollection

from convlab.record import write_record
from convlab.report import (
    Group,
    Run,
    build_report,
    common_settings,
    group_runs,
    load_curves,
    load_runs,
    load_series,
    mean_curve,
    summarize,
)
from convlab.report.plots import curves_figure, final_figure
from convlab.report.summary import Stat, fmt_number
from convlab.runner.overrides import job_dirname


def make_job(
    sweep: Path, num: int, overrides: list[str], status: str, metrics: dict, steps: int = 100
) -> Path:
    job = sweep / job_dirname(num, overrides)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if status != "missing":
        write_record(job, {"status": status, "metrics": metrics, "overrides": overrides,
                           "duration_s": 1.5 if status == "completed" else 0.2,
                           "steps": steps})  # fmt: skip
    return job


ACC = {("avg", 1): 0.80, ("avg", 2): 0.82, ("avg", 3): 0.83, ("max", 1): 0.88, ("max", 2): 0.87}


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """2 poolings × 3 seeds; max/seed 3 diverged (after a finite test score of 0.10, which must
    stay out of the statistics); plus a killed job without a record."""
    sweep = tmp_path / "sweep"
    num = 0
    for pooling in ("avg", "max"):
        for seed in (1, 2, 3):
            overrides = [f"model.pooling={pooling}", f"seed={seed}", "trainer.max_epochs=2"]
            if (pooling, seed) in ACC:
                metrics = {"test/acc": ACC[pooling, seed], "val/acc": ACC[pooling, seed] - 0.01}
                make_job(sweep, num, overrides, "completed", metrics)
            else:
                metrics = {"test/acc": 0.10, "val/acc": math.nan}
                make_job(sweep, num, overrides, "diverged", metrics, steps=7)
            num += 1
    make_job(sweep, num, ["model.pooling=max", "seed=4", "trainer.max_epochs=2"], "missing", {})
    return sweep


def test_runs_keep_every_job_with_its_status(sweep):
    runs = load_runs(sweep)
    assert [run.status for run in runs] == ["completed"] * 5 + ["diverged", "missing"]
    assert [run.seed for run in runs] == ["1", "2", "3", "1", "2", "3", "4"]
    assert math.isnan(runs[5].metrics["val/acc"])  # NaN stored as "nan" reads back as NaN
    assert runs[5].metrics["test/acc"] == 0.10 and runs[6].metrics == {}


def test_groups_are_overrides_minus_seed(sweep):
    groups = group_runs(load_runs(sweep))
    assert [g.settings for g in groups] == [{"model.pooling": "avg"}, {"model.pooling": "max"}]
    assert [len(g.runs) for g in groups] == [3, 4]
    assert [g.short_label for g in groups] == ["pooling=avg", "pooling=max"]
    assert common_settings(load_runs(sweep)) == {"trainer.max_epochs": "2"}
    one = load_runs(sweep)[:1]
    assert common_settings(one) == {"model.pooling": "avg", "trainer.max_epochs": "2"}
    assert common_settings([]) == {}


def test_a_completed_run_without_the_metric_is_left_out(tmp_path):
    runs = [Run(tmp_path / "a", "completed", metrics={"test/acc": 0.5}),
            Run(tmp_path / "b", "completed", metrics={})]  # fmt: skip
    stat = Group(settings={}, runs=runs).stat("test/acc")
    assert (stat.mean, stat.n) == (0.5, 1)


def test_summary_statistics_by_hand(sweep):
    """avg: 0.80, 0.82, 0.83 → mean 0.81667, squared deviations (in 0.01²) 25/9 + 1/9 + 16/9 =
    42/9, sample variance 7/3, std 0.01·√(7/3) = 0.015275. max: 0.88, 0.87 from the completed
    runs only (not the diverged run's 0.10) → mean 0.875, std 0.01/√2 = 0.0070711."""
    avg, mx = summarize(group_runs(load_runs(sweep)))
    assert (avg["test/acc"].mean, avg["test/acc"].std, avg["test/acc"].n) == (
        pytest.approx(0.8166667),
        pytest.approx(0.0152753, rel=1e-5),
        3,
    )
    assert (mx["test/acc"].mean, mx["test/acc"].std, mx["test/acc"].n) == (
        pytest.approx(0.875),
        pytest.approx(0.0070711, rel=1e-5),
        2,
    )
    assert mx["val/acc"].mean == pytest.approx(0.865) and mx["val/acc"].n == 2
    assert (mx["runs"], mx["completed"], mx["diverged"], mx["failed"], mx["missing"]) == (
        4,
        2,
        1,
        0,
        1,
    )
    # Steps and time per run: completed runs only (the diverged one stopped at step 7).
    assert (mx["steps"].mean, mx["steps"].n, mx["duration_s"].mean) == (100, 2, 1.5)
    assert mx["group"] == "model.pooling=max" and mx["model.pooling"] == "max"
    assert list(summarize(group_runs(load_runs(sweep)))[0]) [:4] == [
        "group", "model.pooling", "runs", "completed"]  # fmt: skip


def test_stat_of_one_value_and_of_nothing_finite():
    one = Stat.of([0.5, math.nan, math.inf])  # non-finite values do not count
    assert (one.mean, one.n) == (0.5, 1) and math.isnan(one.std)
    assert (one.low, one.high) == (0.5, 0.5)
    none = Stat.of([math.nan])
    assert none.n == 0 and math.isnan(none.mean) and math.isnan(none.std)
    assert Stat.of([1.0, 2.0]).format(digits=2) == "1.5 ± 0.71"
    three = Stat.of([1.0, 2.0, 6.0])  # mean 3, deviations -2, -1, 3: variance 14/2 = 7
    assert (three.mean, three.std**2) == (3.0, pytest.approx(7.0))
    assert (three.low, three.high) == (pytest.approx(3 - 7**0.5), pytest.approx(3 + 7**0.5))


def test_stat_formatting():
    assert Stat.of([1.0, 2.0, 3.0]).format() == "2.000 ± 1.0"
    assert Stat.of([0.5]).format() == "0.5000 (n=1)"
    assert Stat.of([math.nan]).format() == "–"
    assert fmt_number(3.1e-7) == "3.10e-07"
    assert fmt_number(0.0123456) == "0.01235"
    assert fmt_number(12345.6) == "12346"
    assert fmt_number(0.0) == "0" and fmt_number(math.inf) == "inf"
    assert fmt_number(0.001) == "0.001000" and fmt_number(999999.0) == "999999"
    assert fmt_number(1e6) == "1.00e+06" and fmt_number(-2.5) == "-2.500"


def test_report_writes_table_and_plots(sweep):
    report = build_report(sweep, quiet=True)
    text = (sweep / "report" / "results.md").read_text()
    assert report.markdown == sweep / "report" / "results.md"
    assert "# Sweep report: `sweep`" in text
    assert "7 runs in 2 groups: 5 completed, 1 diverged, 1 missing." in text
    assert "Shared by every run: `trainer.max_epochs=2`." in text
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert table == [
        "| model.pooling | runs | completed | diverged | missing | test/acc | val/acc | steps "
        "| time/run (s) |",
        "|---|---|---|---|---|---|---|---|---|",
        "| `avg` | 3 | 3 | 0 | 0 | 0.8167 ± 0.015 | 0.8067 ± 0.015 | 100 | 1.5 |",
        "| `max` | 4 | 2 | 1 | 1 | 0.8750 ± 0.0071 | 0.8650 ± 0.0071 | 100 | 1.5 |",
        # Welch by hand: max [0.88, 0.87] − avg [0.80, 0.82, 0.83] = 0.05833; variances
        # 5e-5 and 2.333e-4, se² = 1.0278e-4, df = 2.894, t(0.975, 2.894) = 3.259:
        # half-width 0.0330; t = 5.754 → p = 0.0115.
        "| group | metric | n | mean − first [95 % CI] | Welch p |",
        "|---|---|---|---|---|",
        "| model.pooling=max | test/acc | 2/3 | +0.0583 [+0.0254, +0.0913] | 0.01 |",
    ]
    # Only the test metric gets a final plot; no logs, so no curves.
    assert list(report.figures) == ["final test/acc"]
    assert report.figures["final test/acc"] == sweep / "report" / "final_test_acc.png"
    assert report.figures["final test/acc"].is_file()
    assert "![final test/acc](final_test_acc.png)" in text


def test_report_of_chosen_metrics_into_another_folder(sweep, tmp_path):
    report = build_report(sweep, ["val/acc"], tmp_path / "out", quiet=True)
    text = (tmp_path / "out" / "results.md").read_text()
    assert report.metrics == ["val/acc"] and "| test/acc |" not in text
    assert list(report.figures) == ["final val/acc"]  # no test metric: the chosen one is drawn
    assert not (sweep / "report").exists()


def test_report_draws_the_logged_curves(sweep):
    (next(sweep.glob("0_*")) / "metrics.csv").write_text("epoch,step,val/loss\n0,9,0.5\n")
    report = build_report(sweep, quiet=True)
    assert list(report.figures) == ["final test/acc", "val/loss per epoch"]
    assert report.figures["val/loss per epoch"] == sweep / "report" / "curve_val_loss.png"
    assert report.figures["val/loss per epoch"].is_file() and "val/loss" in report.curves[
        next(sweep.glob("0_*")).name]  # fmt: skip


def test_final_plot_shows_each_groups_runs_and_mean(sweep):
    (ax,) = final_figure(group_runs(load_runs(sweep)), "test/acc").axes
    assert ax.get_xlabel() == "test/acc"
    assert ax.get_title() == "final test/acc: runs, mean ± std, 95 % CI of the mean"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["pooling=avg", "pooling=max (1 diverged, 1 missing)"]
    # One mean marker per group at (mean, row), a bar of ± std, a thick bar of the 95 % CI of
    # the mean, dots at the runs' values.
    means = [line.get_xydata().tolist() for line in ax.lines]
    assert means == [[[pytest.approx(0.8166667), 0.0]], [[pytest.approx(0.875), 1.0]]]
    bars = [c.get_segments()[0][:, 0].tolist() for c in ax.collections
            if isinstance(c, LineCollection)]  # fmt: skip
    # t(0.975, 2) = 4.3027, t(0.975, 1) = 12.706: CI half-widths 4.3027·0.0152753/√3 and
    # 12.706·0.0070711/√2.
    assert bars == [pytest.approx([0.8166667 - 0.0152753, 0.8166667 + 0.0152753]),
                    pytest.approx([0.8166667 - 0.0379466, 0.8166667 + 0.0379466], rel=1e-4),
                    pytest.approx([0.875 - 0.0070711, 0.875 + 0.0070711]),
                    pytest.approx([0.875 - 0.0635310, 0.875 + 0.0635310], rel=1e-4)]  # fmt: skip
    dots = [c.get_offsets().tolist() for c in ax.collections if isinstance(c, PathCollection)]
    assert dots == [[[0.80, 0.0], [0.82, 0.0], [0.83, 0.0]], [[0.88, 1.0], [0.87, 1.0]]]
    assert ax.get_xscale() == "linear"
    assert ax.get_ylim() == (1.5, -0.5)  # first group on top, as in the table


def test_final_plot_of_values_over_decades_is_logarithmic(tmp_path):
    def group(values):
        runs = [Run(tmp_path / str(v), "completed", metrics={"test/mae": v}) for v in values]
        return Group(settings={"model.width": str(len(values))}, runs=runs)

    figures = [final_figure([group([0.01, 0.02]), group([5.0, 9.0, 10.0])], "test/mae"),
               final_figure([group([0.0, 0.01]), group([5.0])], "test/mae", title="T"),
               final_figure([group([1.0, 50.0])], "test/mae")]  # fmt: skip
    scales = [figure.axes[0].get_xscale() for figure in figures]
    # Positive values over a decade or more: log; zeros stay visible on symlog.
    assert scales == ["log", "symlog", "log"]
    assert figures[1].axes[0].get_title() == "T"


def test_curve_plot_draws_mean_and_band_per_group(sweep):
    groups = group_runs(load_runs(sweep))
    names = [run.name for run in load_runs(sweep)]
    curves = {  # avg's three runs, max's two completed ones; the diverged run's is ignored
        names[0]: {"val/loss": [(1, 0.5), (2, 0.7)]},
        names[1]: {"val/loss": [(1, 0.6), (2, 0.8)]},
        names[2]: {"val/loss": [(1, 0.7), (2, 0.9)]},
        names[3]: {"val/loss": [(1, 2.0), (2, 1.0)]},
        names[4]: {"val/loss": [(1, 4.0)]},
        names[5]: {"val/loss": [(1, 99.0)]},
    }
    (ax,) = curves_figure(groups, curves, "val/loss").axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "val/loss (log scale)")
    assert (
        ax.get_title()
        == "val/loss per epoch: mean ± std over seeds (band clipped at the axis floor)"
    )
    lines = [(line.get_xdata().tolist(), line.get_ydata().tolist()) for line in ax.lines]
    # avg: means 0.6, 0.8 (std 0.1); max: epoch 1 mean of 2 and 4 = 3 (std √2), epoch 2 only 1.
    assert lines == [([1, 2], pytest.approx([0.6, 0.8])), ([1, 2], [3.0, 1.0])]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "pooling=avg (n=3)", "pooling=max (n=2)"]  # fmt: skip
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert min(band) == pytest.approx(0.5) and max(band) == pytest.approx(0.9)
    band = ax.collections[1].get_paths()[0].vertices[:, 1]
    assert min(band) == 1.0 and max(band) == pytest.approx(3 + 2**0.5)  # 3 ± √2, then 1 ± 0
    assert curves_figure(groups, {}, "val/loss") is None


def test_mean_curve_by_hand():
    epochs, means, stds = mean_curve([[(1, 1.0), (2, 3.0)], [(1, 3.0), (2, math.nan)], [(1, 5.0)]])
    assert epochs == [1, 2] and means == [3.0, 3.0]
    assert stds == [2.0, 0.0]  # epoch 1: deviations -2, 0, 2 → variance 8/2; epoch 2: one value


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


def _events(directory: Path, scalars: dict[str, list[tuple[int, float]]]) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(directory))
    for tag, points in scalars.items():
        for step, value in points:
            writer.add_scalar(tag, value, step)
    writer.close()


def test_curves_from_tensorboard_events_per_epoch(tmp_path):
    """Validation every second epoch: its points sit at epochs 2 and 4, read from the ``epoch``
    series logged at the same steps."""
    run = tmp_path / "run"
    _events(run / "tensorboard" / "version_0", {
        "val/loss": [(19, 0.7), (39, 0.5)], "epoch": [(9, 0.0), (19, 1.0), (29, 2.0), (39, 3.0)],
        "train/loss_step": [(5, 0.9)], "train/loss": [(9, 0.8)], "val/acc": [(19, 0.25)],
    })  # fmt: skip
    assert load_curves(run) == {
        "val/loss": [(2, pytest.approx(0.7)), (4, pytest.approx(0.5))],
        "val/acc": [(2, 0.25)],
    }
    assert load_curves(run, prefix="train/") == {"train/loss": [(1, pytest.approx(0.8))]}
    assert set(load_series(run)) == {
        "val/loss",
        "epoch",
        "train/loss_step",
        "train/loss",
        "val/acc",
    }


def test_resumed_run_the_later_event_file_wins(tmp_path):
    run = tmp_path / "run"
    _events(run / "tb" / "a", {"val/loss": [(9, 0.7), (19, 0.6)], "epoch": [(9, 0.0), (19, 1.0)]})
    _events(run / "tb" / "b", {"val/loss": [(19, 0.4), (29, 0.3)], "epoch": [(19, 1.0), (29, 2.0)]})
    assert load_curves(run) == {"val/loss": [(1, pytest.approx(0.7)), (2, pytest.approx(0.4)),
                                             (3, pytest.approx(0.3))]}  # fmt: skip


def test_without_an_epoch_series_curves_count_the_points(tmp_path):
    run = tmp_path / "run"
    (run / "csv").mkdir(parents=True)
    (run / "csv" / "metrics.csv").write_text("step,val/mae\n1,3.0\n9,2.0\n,1.5\n")
    # A row without a step counts as step 0, so it comes first.
    assert load_curves(run) == {"val/mae": [(1, 1.5), (2, 3.0), (3, 2.0)]}
    assert set(load_series(run)) == {"val/mae"}
    assert load_curves(tmp_path / "nothing") == {}


def test_unreadable_events_fall_back_to_the_csv_log(tmp_path, monkeypatch, caplog):
    from convlab.report import curves

    run = tmp_path / "run"
    _events(run / "tb", {"val/loss": [(9, 0.7)]})
    (run / "csv").mkdir()
    (run / "csv" / "metrics.csv").write_text("epoch,step,val/loss\n0,9,0.25\n")

    def broken(run_dir):
        raise RuntimeError("truncated record")

    monkeypatch.setattr(curves, "_tensorboard_series", broken)
    assert load_curves(run) == {"val/loss": [(1, 0.25)]}
    assert f"{run}: unreadable TensorBoard events (truncated record); trying the CSV log" in [
        r.getMessage() for r in caplog.records
    ]


def test_short_labels_keep_the_last_part_of_each_key():
    settings = {"model.net.width": "8", "sweep/batch_arm@_global_": "steps_16",
                "a/b/c.d@x@y": "1", "a/b/c": "2", "seed": "0"}  # fmt: skip
    assert Group(settings).short_label == "width=8, batch_arm=steps_16, d=1, c=2, seed=0"
    assert Group({}).short_label == "all"


def test_a_folder_without_runs_is_an_error_naming_it(tmp_path, capsys):
    from convlab.report.__main__ import main

    (tmp_path / "empty").mkdir()
    (tmp_path / "notes" / "plots").mkdir(parents=True)
    (tmp_path / "notes" / "readme.txt").write_text("not a run")
    for folder in (tmp_path / "empty", tmp_path / "notes"):
        assert main([str(folder)]) == 2
        assert capsys.readouterr().err.splitlines() == [
            f"error: {folder}: no run in this folder (no metrics.json or .hydra/overrides.yaml "
            "below it); give a sweep or run folder"]  # fmt: skip
        assert not (folder / "report").exists()


def test_unreadable_records_are_named_by_path_and_not_counted(tmp_path, capsys):
    """Written as runs write them; then damaged: a cut file, a JSON list, a completed record
    without metrics, a metric that is not a number."""
    sweep = tmp_path / "sweep"
    jobs = [make_job(sweep, num, [f"seed={num}"], "completed", {"test/acc": 0.5 + num / 10})
            for num in range(5)]  # fmt: skip
    (jobs[1] / "metrics.json").write_text('{"status": "completed", "metr')
    (jobs[2] / "metrics.json").write_text("[1, 2]")
    write_record(jobs[3], {"status": "completed", "overrides": ["seed=3"]})
    odd = {"test/acc": "high", "val/acc": 0.9, "test/loss": "nan", "val/loss": True}
    write_record(jobs[4], {"status": "completed", "metrics": odd})
    runs = load_runs(sweep)
    assert [run.status for run in runs] == ["completed", "missing", "missing", "missing",
                                            "completed"]  # fmt: skip
    assert runs[4].metrics["val/acc"] == 0.9 and "test/acc" not in runs[4].metrics
    assert math.isnan(runs[4].metrics["test/loss"])  # a NaN as write_record stores it is a number
    report = build_report(sweep, curves=False)
    assert report.problems == [
        f"{jobs[1]}/metrics.json: unreadable (JSONDecodeError: Unterminated string starting at: "
        "line 1 column 25 (char 24))",
        f"{jobs[2]}/metrics.json: not a record (a JSON list, not an object)",
        f"{jobs[3]}/metrics.json: a completed record without metrics (metrics: {{}})",
        f"{jobs[4]}/metrics.json: not a number: test/acc='high', val/loss=True",
    ]
    err = capsys.readouterr().err
    assert [f"[report] cannot read {p}" for p in report.problems] == [
        line for line in err.splitlines() if "cannot read" in line]  # fmt: skip
    text = report.markdown.read_text()
    assert "5 runs in 1 groups: 2 completed, 3 missing." in text
    assert all(f"- `{problem}`" in text for problem in report.problems)
    # Only the one readable test/acc (0.5) is a completed value; "high" is not a 0.
    assert (report.rows[0]["test/acc"].mean, report.rows[0]["test/acc"].n) == (0.5, 1)
    assert build_report(sweep, curves=False, quiet=True) and not capsys.readouterr().err


def test_a_record_of_an_unknown_status_is_named(tmp_path):
    job = make_job(tmp_path / "sweep", 0, ["seed=1"], "completed", {"test/acc": 0.5})
    record = json.loads((job / "metrics.json").read_text())
    (job / "metrics.json").write_text(json.dumps({**record, "status": "done"}))
    (run,) = load_runs(tmp_path / "sweep")
    assert (run.status, run.metrics) == ("missing", {})
    assert run.problem == "status 'done' is not one of completed, diverged, failed, interrupted"
