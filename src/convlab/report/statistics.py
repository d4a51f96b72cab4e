"""Two groups of seeds compared: difference of means, its 95 % CI and Welch's p (scipy).

Welch's CI excludes 0 exactly when the two-sided p is below 0.05, so the verdict rule
(``reading``) can be stated with either. Non-finite values (a diverged run's NaN) are dropped.
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from convlab.report.summary import fmt_number

ALPHA = 0.05


@dataclass(frozen=True)
class Difference:
    """``mean(a) − mean(b)`` with its ``level`` confidence interval and Welch's two-sided p."""

    diff: float
    low: float
    high: float
    p: float
    df: float
    n_a: int
    n_b: int
    level: float = 1 - ALPHA

    @property
    def n(self) -> str:
        """``5`` when both groups have 5 values, else ``5/4``."""
        return str(self.n_a) if self.n_a == self.n_b else f"{self.n_a}/{self.n_b}"

    @property
    def resolved(self) -> bool:
        return math.isfinite(self.p) and self.p < 1 - self.level

    def sign(self) -> int:
        """+1 when the whole CI is above 0, −1 when below, 0 when it covers 0 (or is unknown)."""
        if not self.resolved:
            return 0
        return 1 if self.low > 0 else -1 if self.high < 0 else 0

    def reading(self, claimed: int) -> str:
        """The verdict for the claim that the difference has sign ``claimed`` (+1 or −1)."""
        sign = self.sign()
        if sign == 0:
            return f"not resolved at n = {self.n}"
        return "holds" if sign == claimed else "does not hold"

    def format(self, digits: int = 3) -> str:
        """``+0.0123 [+0.00400, +0.0206]`` (``–`` without a CI: fewer than 2 values)."""
        if not math.isfinite(self.low):
            return "–"
        texts = (fmt_number(value, digits) for value in (self.diff, self.low, self.high))
        diff, low, high = (t if t.startswith("-") or t == "0" else "+" + t for t in texts)
        return f"{diff} [{low}, {high}]"


def fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    if p < 1e-4:
        return "< 0.0001"
    return f"{p:.2g}" if p < 0.01 else f"{p:.2f}"


def welch(a: Sequence[float], b: Sequence[float], level: float = 1 - ALPHA) -> Difference:
    """``mean(a) − mean(b)`` with Welch's CI and p; NaN but the counts below two values a group.
    Both groups without spread: p is 1 for equal means, else 0, and the CI is the difference."""
    a, b = ([float(v) for v in x if math.isfinite(v)] for x in (a, b))
    n_a, n_b = len(a), len(b)
    diff = statistics.fmean(a) - statistics.fmean(b) if a and b else math.nan
    if n_a < 2 or n_b < 2:
        return Difference(diff, math.nan, math.nan, math.nan, math.nan, n_a, n_b, level)
    if statistics.variance(a) == statistics.variance(b) == 0:  # scipy's t would be 0/0
        return Difference(diff, diff, diff, float(diff == 0), math.inf, n_a, n_b, level)
    result = stats.ttest_ind(a, b, equal_var=False)
    low, high = result.confidence_interval(level)
    return Difference(diff, float(low), float(high), float(result.pvalue), float(result.df),
                      n_a, n_b, level)  # fmt: skip


def mean_ci(values: Sequence[float], level: float = 1 - ALPHA) -> tuple[float, float]:
    """The ``level`` t-interval of the mean (NaN with fewer than two finite values)."""
    values = [float(v) for v in values if math.isfinite(v)]
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    mean = statistics.fmean(values)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * statistics.stdev(values) / math.sqrt(n)
    return mean - half, mean + half


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, int]:
    """Spearman's rank correlation of the pairs where both are finite: (rho, p, n)."""
    pairs = [(a, b) for a, b in zip(x, y, strict=True) if math.isfinite(a) and math.isfinite(b)]
    if len(pairs) < 3:
        return math.nan, math.nan, len(pairs)
    result = stats.spearmanr([a for a, _ in pairs], [b for _, b in pairs])
    return float(result.statistic), float(result.pvalue), len(pairs)
