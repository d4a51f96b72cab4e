"""Runs grouped by their overrides minus the seed; mean ± std over the seeds of each group."""

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from convlab.record import STATUSES
from convlab.report.runs import EXTRA_METRICS, MISSING, Run

# The seed is what a group repeats over; the rest say where a run lives or how it started.
NOT_GROUPING = ("seed", "sweep", "ckpt_path", "resume")
STATUS_ORDER = (*STATUSES, MISSING)


@dataclass(frozen=True)
class Stat:
    """Mean ± sample standard deviation (n - 1) over the ``n`` completed runs with a value."""

    mean: float
    std: float
    n: int
    # the finite values themselves, for tests between groups (convlab.report.statistics)
    values: tuple[float, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def of(cls, values: list[float]) -> "Stat":
        values = [float(v) for v in values if math.isfinite(v)]
        if not values:
            return cls(math.nan, math.nan, 0)
        std = statistics.stdev(values) if len(values) > 1 else math.nan
        return cls(statistics.fmean(values), std, len(values), tuple(values))

    @property
    def low(self) -> float:
        return self.mean - (0.0 if math.isnan(self.std) else self.std)

    @property
    def high(self) -> float:
        return self.mean + (0.0 if math.isnan(self.std) else self.std)

    def format(self, digits: int = 4) -> str:
        if self.n == 0:
            return "–"
        mean = fmt_number(self.mean, digits)
        if math.isnan(self.std):
            return f"{mean} (n={self.n})"
        return f"{mean} ± {fmt_number(self.std, 2)}"


def fmt_number(value: float, digits: int = 4) -> str:
    """Significant digits, no exponent for ordinary magnitudes: 0.8912, 1234, 3.10e-07."""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e6:
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
        return f"{value:.{decimals}f}"
    return f"{value:.{digits - 2}e}"


@dataclass
class Group:
    """Runs that differ only in their seed. ``settings``: the overrides that tell groups apart."""

    settings: dict[str, str]
    runs: list[Run] = field(default_factory=list)

    @property
    def label(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.settings.items()) or "all runs"

    @property
    def short_label(self) -> str:
        """``width=8`` for ``model.width=8``, ``batch_arm=steps_16`` for
        ``sweep/batch_arm@_global_=steps_16`` (for plots)."""
        return ", ".join(f"{_short(key)}={value}" for key, value in self.settings.items()) or "all"

    def count(self, status: str) -> int:
        return sum(run.status == status for run in self.runs)

    @property
    def completed(self) -> list[Run]:
        return [run for run in self.runs if run.status == "completed"]

    def stat(self, metric: str) -> Stat:
        return Stat.of([run.metrics.get(metric, math.nan) for run in self.completed])


def _short(key: str) -> str:
    return key.split("@", 1)[0].rsplit("/", 1)[-1].rsplit(".", 1)[-1]


def common_settings(runs: list[Run], ignore: tuple[str, ...] = NOT_GROUPING) -> dict[str, str]:
    """The overrides every run shares (shown once above the table, not in every row)."""
    settings = [{k: v for k, v in run.overrides.items() if k not in ignore} for run in runs] or [{}]
    return {k: v for k, v in settings[0].items() if all(s.get(k) == v for s in settings)}


def group_runs(runs: list[Run], ignore: tuple[str, ...] = NOT_GROUPING) -> list[Group]:
    """Group by the overrides minus ``ignore``, in order of first job; a group's ``settings``
    keep only the keys that vary between runs, so labels stay short."""
    common = common_settings(runs, ignore)
    groups: dict[tuple, Group] = {}
    for run in runs:
        settings = {k: v for k, v in run.overrides.items() if k not in ignore and k not in common}
        key = tuple(sorted(settings.items()))
        groups.setdefault(key, Group(settings=settings)).runs.append(run)
    return list(groups.values())


def metric_names(runs: list[Run], prefixes: tuple[str, ...] = ("test/", "val/")) -> list[str]:
    """Every ``test/*``, then every ``val/*``, each sorted, then the callbacks' extras."""
    names = {name for run in runs for name in run.metrics}
    ordered = [n for prefix in prefixes for n in sorted(n for n in names if n.startswith(prefix))]
    return ordered + [name for name in EXTRA_METRICS if name in names]


def summarize(groups: list[Group], metrics: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per group: its settings, run counts by status, and a ``Stat`` per metric (of
    the completed runs; the others are counted in their own columns, never dropped)."""
    if metrics is None:
        metrics = metric_names([run for group in groups for run in group.runs])
    rows = []
    for group in groups:
        row: dict[str, Any] = {"group": group.label, **group.settings, "runs": len(group.runs)}
        row.update({status: group.count(status) for status in STATUS_ORDER})
        row.update({metric: group.stat(metric) for metric in metrics})
        for key in ("duration_s", "steps"):
            row[key] = Stat.of([float(run.record.get(key) or math.nan) for run in group.completed])
        rows.append(row)
    return rows
