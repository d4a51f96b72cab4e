"""The rules that turn a sweep's numbers into words. Every verdict of the study uses only these.

- Two groups differ when their mean ± std intervals (sample std over seeds) do not overlap;
  overlapping intervals are "no clear difference". With 3 seeds this is a deliberately cautious
  rule: it calls a difference only when every seed-to-seed spread is smaller than the gap.
- A max(a, b) regressor *learns* when every run of the group completed (none diverged or failed)
  and its mean test MAE is at most ``LEARNS_MAE`` (1 % of the input range (0, 20000)). For
  scale: answering (a + b) / 2, which a net that cannot tell a from b ends up doing, has an MAE
  of range / 6 ≈ 3333.
- A classifier *trains easily* when every run completed with mean test accuracy of at least
  ``EASY_ACC``.
"""

from __future__ import annotations

import math
from typing import Literal

from convlab.report.summary import Group, Stat, fmt_number

RANGE = 20000.0
LEARNS_MAE = 0.01 * RANGE
EASY_ACC = 0.99
MIDPOINT_MAE = RANGE / 6

Comparison = Literal["better", "worse", "no clear difference", "unknown"]


def explain() -> list[str]:
    """The rules above as markdown bullets, with their numbers, for RESULTS.md."""
    return [
        "- **Clear difference**: two groups differ only when their mean ± std intervals (sample "
        'std over the seeds) do not overlap; overlapping intervals read "no clear difference". '
        "With 3 seeds this is cautious on purpose.",
        f"- **Learns max(a, b)**: every run of the group completed (none diverged or failed) "
        f"and the mean test MAE is at most {LEARNS_MAE:g} (1 % of the range (0, {RANGE:g})). "
        f"For scale, answering (a + b) / 2 has an MAE of {MIDPOINT_MAE:.0f}.",
        f"- **Trains easily** (classifier): every run completed with a mean test accuracy of at "
        f"least {EASY_ACC}.",
        '- A sweep with unfinished runs (failed, killed) gets no verdict ("inconclusive"); '
        "diverged runs are a result and count against their group.",
    ]


def compare(a: Stat, b: Stat, lower_is_better: bool) -> Comparison:
    """Is ``a`` better than ``b``? Only when their mean ± std intervals do not overlap."""
    if a.n == 0 or b.n == 0:
        return "unknown"
    if a.high < b.low:
        return "better" if lower_is_better else "worse"
    if a.low > b.high:
        return "worse" if lower_is_better else "better"
    return "no clear difference"


def all_completed(group: Group) -> bool:
    return bool(group.runs) and len(group.completed) == len(group.runs)


def learns(group: Group, metric: str = "test/mae", threshold: float = LEARNS_MAE) -> bool:
    stat = group.stat(metric)
    return all_completed(group) and stat.n > 0 and stat.mean <= threshold


def trains_easily(group: Group, metric: str = "test/acc", threshold: float = EASY_ACC) -> bool:
    stat = group.stat(metric)
    return all_completed(group) and stat.n > 0 and stat.mean >= threshold


def describe(group: Group, metric: str) -> str:
    """``test/mae 12.3 ± 1.1 (3/3 completed)`` or ``2 of 3 diverged``, for the verdict text."""
    stat = group.stat(metric)
    parts = []
    if stat.n:
        parts.append(f"{metric} {stat.format()}")
    others = [
        f"{group.count(s)} of {len(group.runs)} {s}"
        for s in ("diverged", "failed", "interrupted", "missing")
        if group.count(s)
    ]
    parts += others
    return ", ".join(parts) if parts else "no runs"


def find(groups: list[Group], **settings: str) -> Group | None:
    """The group whose settings match ``settings`` (keys by their last dotted part)."""
    for group in groups:
        short = {key.rsplit(".", 1)[-1]: value for key, value in group.settings.items()}
        if all(short.get(k.rsplit(".", 1)[-1]) == str(v) for k, v in settings.items()):
            return group
    return None


def best(groups: list[Group], metric: str, lower_is_better: bool) -> Group | None:
    """The group with the best mean among those with at least one completed run."""
    scored = [g for g in groups if g.stat(metric).n]
    if not scored:
        return None
    sign = 1 if lower_is_better else -1
    return min(scored, key=lambda g: sign * g.stat(metric).mean)


def fmt(value: float) -> str:
    return fmt_number(value) if math.isfinite(value) else str(value)
