"""Sweep reports: one table of mean ± std over seeds per group of runs, plus plots.

From a notebook::

    from convlab.report import load_runs, group_runs, summarize, build_report
    runs = load_runs("outputs/study/pooling")        # one Run per job folder
    groups = group_runs(runs)                         # overrides minus seed
    rows = summarize(groups)                          # Stat(mean, std, n) per metric
    build_report("outputs/study/pooling")             # results.md + PNGs in <sweep>/report

From a shell: ``python -m convlab.report <sweep dir>``.
"""

from convlab.report.build import Report, build_report, read_curves
from convlab.report.curves import load_curves, load_series, mean_curve
from convlab.report.runs import MISSING, Run, load_run, load_runs
from convlab.report.summary import Group, Stat, common_settings, group_runs, summarize

__all__ = [
    "MISSING", "Group", "Report", "Run", "Stat", "build_report", "common_settings", "group_runs",
    "load_curves", "load_run", "load_runs", "load_series", "mean_curve", "read_curves", "summarize",
]  # fmt: skip
