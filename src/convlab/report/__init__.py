"""Sweep reports: one table of mean ± std over seeds per group of runs, plus plots.

``build_report(sweep_dir)`` writes ``<sweep>/report/results.md`` and PNGs; ``load_runs``,
``group_runs`` and ``summarize`` are its steps, for notebooks. ``python -m convlab.report``.
"""

from convlab.report.build import Report, build_report, read_curves
from convlab.report.curves import load_curves, load_series, mean_curve
from convlab.report.runs import MISSING, Run, load_run, load_runs
from convlab.report.summary import Group, Stat, common_settings, group_runs, summarize

__all__ = [
    "MISSING", "Group", "Report", "Run", "Stat", "build_report", "common_settings", "group_runs",
    "load_curves", "load_run", "load_runs", "load_series", "mean_curve", "read_curves", "summarize",
]  # fmt: skip
