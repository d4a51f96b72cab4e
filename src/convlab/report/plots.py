"""PNG plots of a sweep, readable at page width: final metric per group, validation curves.

Errors are drawn on a log axis, where a mean − std below zero has no place: the band's lower
edge is clipped to the axis floor (half the smallest positive value shown).
"""

import math

# Off-screen, without pyplot's backend: a notebook's inline plots stay as they are.
from matplotlib.figure import Figure

from convlab.report.curves import Curves, mean_curve
from convlab.report.statistics import mean_ci
from convlab.report.summary import STATUS_ORDER, Group

FIGSIZE = (11.0, 5.0)  # inches; at DPI 100: 1100 px wide
DPI = 100
FONT = 13
ERROR_NAMES = ("mae", "mse", "loss", "sharpness")


def is_error(metric: str) -> bool:
    """Lower-is-better, non-negative quantities: drawn on a log axis."""
    return metric.rsplit("/", 1)[-1] in ERROR_NAMES


def _log_scale(set_scale, values: list[float], always: bool = False) -> None:
    """Log scale for errors (``always``) or when values span more than two decades."""
    positive = [v for v in values if math.isfinite(v) and v > 0]
    if not positive or (not always and max(positive) / min(positive) <= 100):
        return
    if len(positive) < len([v for v in values if math.isfinite(v)]):
        set_scale("symlog", linthresh=min(positive))  # zeros (the exact net) stay visible
    else:
        set_scale("log")


def metric_filename(metric: str) -> str:
    return metric.replace("/", "_")


def _status_note(group: Group) -> str:
    note = ", ".join(f"{n} {status}" for status in STATUS_ORDER[1:] if (n := group.count(status)))
    return f" ({note})" if note else ""


def final_figure(groups: list[Group], metric: str, title: str = "") -> Figure:
    """One row per group: its completed runs as dots, mean ± std as a thin bar, the 95 % CI of
    the mean (what the verdicts compare) as a thick one; the label counts the other runs."""
    fig = Figure(figsize=(FIGSIZE[0], max(3.0, 0.45 * len(groups) + 1.6)), dpi=DPI)
    ax = fig.subplots()
    shown: list[float] = []
    error = is_error(metric)
    for i, group in enumerate(groups):
        stat = group.stat(metric)
        if not stat.n:
            continue
        low = stat.mean / 2 if error and stat.low <= 0 < stat.mean else stat.low
        ax.hlines(i, low, stat.high, color="C0", linewidth=1.5,
                  label="mean ± std" if not i else None)  # fmt: skip
        ci_low, ci_high = mean_ci(stat.values)
        if math.isfinite(ci_low):
            ci_low = low if error and ci_low <= 0 else ci_low
            ax.hlines(i, ci_low, ci_high, color="C3", linewidth=6, alpha=0.6,
                      label="95 % CI of the mean" if not i else None)  # fmt: skip
        ax.plot([stat.mean], [i], "o", color="C0", markersize=8)
        ax.scatter(stat.values, [i] * stat.n, s=25, color="C1", zorder=3,
                   label="runs" if not i else None)  # fmt: skip
        shown += stat.values
    labels = [group.short_label + _status_note(group) for group in groups]
    ax.set_yticks(range(len(groups)), labels, fontsize=FONT - 2)
    ax.set_ylim(len(groups) - 0.5, -0.5)  # first group on top, as in the table
    ax.set_xlabel(metric + (" (log scale)" if error else ""), fontsize=FONT)
    ax.tick_params(axis="x", labelsize=FONT - 2)
    _log_scale(ax.set_xscale, shown, always=error)
    ax.set_title(title or f"final {metric}: runs, mean ± std, 95 % CI of the mean", fontsize=FONT)
    ax.grid(axis="x", alpha=0.3)
    if shown:
        ax.legend(fontsize=FONT - 3, loc="best")
    fig.tight_layout()
    return fig


def curves_figure(groups: list[Group], curves: Curves, tag: str) -> Figure | None:
    """Mean ± std of ``tag`` per epoch for each group."""
    drawn = []
    for i, group in enumerate(groups):
        runs = [curve for run in group.completed if (curve := curves.get(run.name, {}).get(tag))]
        if runs:
            drawn.append((i, group, len(runs), *mean_curve(runs)))
    if not drawn:
        return None
    fig, error = Figure(figsize=FIGSIZE, dpi=DPI), is_error(tag)
    ax = fig.subplots()
    positive = [v for *_, means, stds in drawn for m, s in zip(means, stds, strict=True)
                for v in (m, m - s) if math.isfinite(v) and v > 0]  # fmt: skip
    floor = min(positive) / 2 if positive else 0.0
    for i, group, n, epochs, means, stds in drawn:
        color = f"C{i % 10}"
        style = ("-", "--", ":")[i // 10 % 3]  # more than 10 groups: the colours come back
        ax.plot(epochs, means, marker="." if len(epochs) < 30 else None, color=color,
                linestyle=style, linewidth=2, label=f"{group.short_label} (n={n})")  # fmt: skip
        low = [max(m - s, floor) if error else m - s for m, s in zip(means, stds, strict=True)]
        high = [m + s for m, s in zip(means, stds, strict=True)]
        ax.fill_between(epochs, low, high, color=color, alpha=0.2)
    shown = [m for *_, means, _ in drawn for m in means]
    ax.set_xlabel("epoch", fontsize=FONT)
    ax.set_ylabel(tag + (" (log scale)" if error else ""), fontsize=FONT)
    ax.tick_params(labelsize=FONT - 2)
    _log_scale(ax.set_yscale, shown, always=error)
    band = "mean ± std over seeds" + (" (band clipped at the axis floor)" if error else "")
    ax.set_title(f"{tag} per epoch: {band}", fontsize=FONT)
    ax.grid(alpha=0.3)
    if len(drawn) > 6:  # beside the plot, not over the curves
        ax.legend(fontsize=FONT - 4, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.legend(fontsize=FONT - 3, loc="best")
    fig.tight_layout()
    return fig
