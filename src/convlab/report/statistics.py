"""Two groups of seeds compared: difference of means, its 95 % confidence interval, Welch's p.

Welch's t-test does not assume equal variances (``scipy.stats.ttest_ind(equal_var=False)``).
With means ``m``, sample variances ``v`` (n − 1) and sizes ``n`` of the groups ``a`` and ``b``:

    d  = m_a − m_b,        se² = v_a / n_a + v_b / n_b
    df = se⁴ / ((v_a / n_a)² / (n_a − 1) + (v_b / n_b)² / (n_b − 1))   (Welch–Satterthwaite)
    CI = d ± t_{0.975, df} · se

The CI excludes 0 exactly when the two-sided p is below 0.05, so the verdict rule
(``reading``) can be stated with either. Non-finite values (a diverged run's NaN) are dropped:
the groups' run counts say how many completed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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
        if self.low > 0:
            return 1
        if self.high < 0:
            return -1
        return 0

    def reading(self, claimed: int) -> str:
        """The verdict for the claim that the difference has sign ``claimed`` (+1 or −1):
        ``holds`` when p < 0.05 and the CI excludes 0 on the claimed side, ``does not hold``
        when it excludes 0 on the other side, else ``not resolved at n = k``."""
        sign = self.sign()
        if sign == 0:
            return f"not resolved at n = {self.n}"
        return "holds" if sign == claimed else "does not hold"

    def format(self, digits: int = 3) -> str:
        """``+0.0123 [+0.0040, +0.0206], p = 0.012`` (or ``–`` with fewer than 2 values)."""
        from convlab.report.summary import fmt_number

        if not math.isfinite(self.diff):
            return "–"

        def signed(value: float) -> str:
            text = fmt_number(value, digits)
            return text if text.startswith("-") or text in ("0", "nan") else "+" + text

        return f"{signed(self.diff)} [{signed(self.low)}, {signed(self.high)}], p = {fmt_p(self.p)}"


def fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    if p < 1e-4:
        return "< 0.0001"
    return f"{p:.2g}" if p < 0.01 else f"{p:.2f}"


def _clean(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if math.isfinite(v)]


def welch(a: Sequence[float], b: Sequence[float], level: float = 1 - ALPHA) -> Difference:
    """Difference of the means of ``a`` and ``b`` with Welch's CI and p. Fewer than two finite
    values in a group: NaN everywhere but the counts. Both groups without spread: p is 1 for
    equal means, 0 otherwise, and the CI is the difference itself."""
    from scipy import stats

    a, b = _clean(a), _clean(b)
    n_a, n_b = len(a), len(b)
    if n_a < 2 or n_b < 2:
        diff = (sum(a) / n_a - sum(b) / n_b) if n_a and n_b else math.nan
        return Difference(diff, math.nan, math.nan, math.nan, math.nan, n_a, n_b, level)
    mean_a, mean_b = sum(a) / n_a, sum(b) / n_b
    var_a = sum((x - mean_a) ** 2 for x in a) / (n_a - 1)
    var_b = sum((x - mean_b) ** 2 for x in b) / (n_b - 1)
    diff = mean_a - mean_b
    se2 = var_a / n_a + var_b / n_b
    if se2 == 0:
        p = 1.0 if diff == 0 else 0.0
        return Difference(diff, diff, diff, p, math.inf, n_a, n_b, level)
    df = se2**2 / ((var_a / n_a) ** 2 / (n_a - 1) + (var_b / n_b) ** 2 / (n_b - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * math.sqrt(se2)
    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return Difference(diff, diff - half, diff + half, p, df, n_a, n_b, level)


def mean_ci(values: Sequence[float], level: float = 1 - ALPHA) -> tuple[float, float]:
    """The ``level`` t-interval of the mean (NaN with fewer than two finite values)."""
    from scipy import stats

    values = _clean(values)
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    mean = sum(values) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, int]:
    """Spearman's rank correlation of the pairs where both are finite: (rho, p, n)."""
    from scipy import stats

    pairs = [(a, b) for a, b in zip(x, y, strict=True) if math.isfinite(a) and math.isfinite(b)]
    if len(pairs) < 3:
        return math.nan, math.nan, len(pairs)
    result = stats.spearmanr([a for a, _ in pairs], [b for _, b in pairs])
    return float(result.statistic), float(result.pvalue), len(pairs)
