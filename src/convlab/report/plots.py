"""Small PNG plots of a sweep: final metric per group, and validation curves per group."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

# The Figure API draws off-screen without touching pyplot's backend, so importing the report
# in a notebook leaves its inline plots alone.
from matplotlib.figure import Figure

from convlab.report.curves import Curve, mean_curve
from convlab.report.summary import Group

FIGSIZE = (6.4, 3.6)
DPI = 90


def _log_scale(set_scale, values: list[float]) -> None:
    """Log scale when the values span more than two decades (errors from 0.01 to 1000)."""
    positive = [v for v in values if math.isfinite(v) and v > 0]
    if not positive or max(positive) / min(positive) <= 100:
        return
    if len(positive) < len([v for v in values if math.isfinite(v)]):
        set_scale("symlog", linthresh=min(positive))  # zeros (the exact net) stay visible
    else:
        set_scale("log")


def metric_filename(metric: str) -> str:
    return metric.replace("/", "_")


def _status_note(group: Group) -> str:
    others = Counter(run.status for run in group.runs if run.status != "completed")
    note = ", ".join(f"{n} {status}" for status, n in sorted(others.items()))
    return f" ({note})" if note else ""


def plot_final(groups: list[Group], metric: str, path: str | Path, title: str = "") -> Path:
    """One row per group: its completed runs as dots, their mean ± std as a bar. Runs that did
    not complete (diverged, failed) have no value; the row's label counts them."""
    height = max(2.4, 0.32 * len(groups) + 1.2)
    fig = Figure(figsize=(FIGSIZE[0], height), dpi=DPI)
    ax = fig.subplots()
    shown: list[float] = []
    for i, group in enumerate(groups):
        values = [run.metrics.get(metric, math.nan) for run in group.completed]
        stat = group.stat(metric)
        if stat.n:
            std = 0.0 if math.isnan(stat.std) else stat.std
            ax.errorbar(stat.mean, i, xerr=std, fmt="o", color="C0", capsize=4, markersize=6)
            ax.scatter(values, [i] * len(values), s=12, color="C1", zorder=3)
            shown += values
    labels = [group.short_label + _status_note(group) for group in groups]
    ax.set_yticks(range(len(groups)), labels, fontsize=7)
    ax.set_ylim(len(groups) - 0.5, -0.5)  # first group on top, as in the table
    ax.set_xlabel(metric)
    _log_scale(ax.set_xscale, shown)
    ax.set_title(title or f"final {metric}: mean ± std over seeds (dots: runs)", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path


def plot_curves(
    groups: list[Group], curves: dict[str, dict[str, Curve]], tag: str, path: str | Path
) -> Path | None:
    """Mean ± std of ``tag`` per epoch for each group; ``curves``: run name → tag → curve."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    ax = fig.subplots()
    shown: list[float] = []
    for i, group in enumerate(groups):
        runs = [curves.get(run.name, {}).get(tag) for run in group.completed]
        runs = [curve for curve in runs if curve]
        if not runs:
            continue
        epochs, means, stds = mean_curve(runs)
        color = f"C{i % 10}"
        ax.plot(epochs, means, marker="." if len(epochs) < 30 else None, color=color,
                label=f"{group.short_label} (n={len(runs)})")  # fmt: skip
        low = [m - s for m, s in zip(means, stds, strict=True)]
        high = [m + s for m, s in zip(means, stds, strict=True)]
        ax.fill_between(epochs, low, high, color=color, alpha=0.2)
        shown += means
    if not shown:
        return None
    ax.set_xlabel("epoch")
    ax.set_ylabel(tag)
    _log_scale(ax.set_yscale, shown)
    ax.set_title(f"{tag} per epoch: mean ± std over seeds", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="best", ncol=2 if len(groups) > 6 else 1)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path
