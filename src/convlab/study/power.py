"""How many seeds would decide a comparison that is not resolved: the power of Welch's test at
the measured difference and spreads, from scipy's noncentral t distribution."""

import math

from scipy import stats

from convlab.report.statistics import ALPHA
from convlab.study.rules import Contrast

POWER = 0.8
MOST_SEEDS = 10_000


def power(n: int, effect: float, std_a: float, std_b: float, margin: float | None = None,
          alpha: float = ALPHA) -> float:  # fmt: skip
    """The chance that ``n`` seeds per group decide a true difference ``effect``: Welch's test
    (two-sided, level ``alpha``) is significant; with ``margin`` ("not worse than B by more than
    margin", ``effect`` in the better direction), that the CI's worse end clears −margin."""
    variance = std_a**2 + std_b**2
    shift = abs(effect) if margin is None else effect + margin
    if variance == 0:
        return float(shift > 0)
    df = variance**2 * (n - 1) / (std_a**4 + std_b**4)  # Welch–Satterthwaite at equal n
    critical, noncentrality = stats.t.ppf(1 - alpha / 2, df), shift / math.sqrt(variance / n)
    # scipy's noncentral t gives NaN far in its tail (large n): the normal limit is exact there
    for t in (stats.nct(df, noncentrality), stats.norm(noncentrality)):
        value = float(t.sf(critical) + (t.cdf(-critical) if margin is None else 0.0))
        if math.isfinite(value):
            return value
    return math.nan


def seeds_to_decide(
    contrast: Contrast, wanted: float = POWER, most: int = MOST_SEEDS
) -> int | None:
    """The fewest seeds per group that decide ``contrast`` with power ``wanted``, taking its
    measured difference as the true one and its measured stds as the spreads; None when more than
    ``most`` are needed or a group has fewer than two values."""
    a, b = contrast.mean_a, contrast.mean_b
    if a.n < 2 or b.n < 2:
        return None
    effect = a.mean - b.mean
    if contrast.margin is not None:
        effect *= contrast.claimed
    args = (effect, a.std, b.std, contrast.margin)
    if power(most, *args) < wanted:
        return None
    low, high = 2, most  # power grows with n: the first n that reaches it, by bisection
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if power(middle, *args) >= wanted else (middle + 1, high)
    return low


def seeds_statement(contrast: Contrast, short: bool = False) -> str:
    """``n = 10 seeds per group (now 5)``, or why no number of seeds would do; ``short``: the
    table cell, ``10``, ``–`` (a group has fewer than two values) or ``> 10,000``."""
    d = contrast.difference
    n = seeds_to_decide(contrast)
    if n is not None:
        return str(n) if short else f"n = {n} seeds per group (now {max(d.n_a, d.n_b)})"
    if min(contrast.mean_a.n, contrast.mean_b.n) < 2:
        return "–" if short else f"not computable: a group has fewer than two values (n = {d.n})"
    if short:
        return f"> {MOST_SEEDS:,}"
    return (f"more than {MOST_SEEDS:,} seeds per group: the measured difference is too small "
            "against its spread for seeds to decide it")  # fmt: skip
