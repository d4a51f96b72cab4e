"""Welch's comparison checked against values worked out by hand (closed forms, not the code)."""

from __future__ import annotations

import math
import statistics

import pytest

from convlab.report.statistics import Difference, fmt_p, mean_ci, spearman, welch


def test_welch_two_per_group_closed_form():
    # a = [0, 2], b = [10, 12]: variances 2 and 2, se² = 2/2 + 2/2 = 2, df = 2² / (1 + 1) = 2,
    # t = -10 / √2. With 2 degrees of freedom P(|T| > t) = 1 − t / √(2 + t²) = 1 − √50/√52,
    # and t_0.975,2 = 0.95 / √(2 · 0.975 · 0.025) = 4.3026527.
    d = welch([0.0, 2.0], [10.0, 12.0])
    assert d.diff == pytest.approx(-10.0)
    assert d.df == pytest.approx(2.0)
    assert d.p == pytest.approx(1 - math.sqrt(50 / 52), rel=1e-6)
    half = 0.95 / math.sqrt(2 * 0.975 * 0.025) * math.sqrt(2)
    assert (d.low, d.high) == pytest.approx((-10 - half, -10 + half), rel=1e-6)
    assert (d.n_a, d.n_b) == (2, 2)
    assert d.reading(claimed=-1) == "holds"  # a lower than b
    assert d.reading(claimed=+1) == "does not hold"


def test_welch_unequal_sizes_degrees_of_freedom():
    # a = [1, 2, 3]: mean 2, var 1; b = [4, 5, 6, 7]: mean 5.5, var 5/3.
    # se² = 1/3 + 5/12 = 3/4; df = (3/4)² / ((1/3)²/2 + (5/12)²/3) = (9/16) / (49/432) = 243/49.
    d = welch([1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0])
    assert d.diff == pytest.approx(-3.5)
    assert d.df == pytest.approx(243 / 49)
    assert d.n == "3/4"
    assert d.low < -3.5 < d.high < 0


def test_welch_not_resolved_and_too_few():
    d = welch([1.0, 2.0, 3.0], [1.5, 2.5, 3.5])  # overlapping: p far above 0.05
    assert d.p > 0.05
    assert d.reading(claimed=-1) == "not resolved at n = 3"
    one = welch([1.0], [2.0, 3.0])
    assert math.isnan(one.p) and one.reading(-1) == "not resolved at n = 1/2"
    # NaN (a diverged run) is dropped, not averaged
    assert welch([1.0, 2.0, math.nan], [5.0, 6.0]).n_a == 2


def test_mean_ci_and_spearman():
    # [1, 2, 3]: mean 2, sd 1, t_0.975,2 = 4.3026527 → 2 ± 4.3026527 / √3
    low, high = mean_ci([1.0, 2.0, 3.0])
    half = 0.95 / math.sqrt(2 * 0.975 * 0.025) / math.sqrt(3)
    assert (low, high) == pytest.approx((2 - half, 2 + half), rel=1e-6)
    rho, _, n = spearman([1.0, 2.0, 3.0, 4.0, math.nan], [10.0, 30.0, 20.0, 40.0, 1.0])
    # ranks 1 2 3 4 vs 1 3 2 4: d² = 0 + 1 + 1 + 0 = 2, rho = 1 − 6·2 / (4·15) = 0.8
    assert n == 4 and rho == pytest.approx(0.8)


def test_sign_resolution_and_counts():
    above = Difference(1.0, 0.5, 1.5, 0.01, 4.0, 3, 3)
    assert above.level == pytest.approx(0.95) and above.n == "3"
    assert above.resolved and above.sign() == 1 and above.reading(+1) == "holds"
    below = Difference(-1.0, -1.5, -0.5, 0.01, 4.0, 3, 2)
    assert below.sign() == -1 and below.reading(+1) == "does not hold" and below.n == "3/2"
    # p above 0.05 is not resolved; a CI touching 0 is not above or below it.
    assert not Difference(1.0, 0.5, 1.5, 0.0501, 4.0, 3, 3).resolved
    assert Difference(1.0, 0.5, 1.5, 0.0501, 4.0, 3, 3).sign() == 0
    assert Difference(1.0, 0.0, 2.0, 0.01, 4.0, 3, 3).sign() == 0
    assert Difference(-1.0, -2.0, 0.0, 0.01, 4.0, 3, 3).sign() == 0
    assert not Difference(1.0, 0.5, 1.5, math.nan, 4.0, 3, 3).resolved
    wider = Difference(1.0, 0.5, 1.5, 0.07, 4.0, 3, 3, level=0.9)
    assert wider.resolved and wider.sign() == 1


def test_format_signs_every_number():
    d = Difference(0.012345, 0.004, 0.0206, 0.0123, 4.0, 3, 3)
    assert d.format() == "+0.0123 [+0.00400, +0.0206]"
    assert Difference(-1.23456, -2.0, 0.0, 0.5, 4.0, 3, 3).format(2) == "-1.2 [-2.0, 0]"
    assert Difference(math.nan, math.nan, math.nan, math.nan, math.nan, 1, 1).format() == "–"
    assert Difference(1.0, math.nan, math.nan, math.nan, math.nan, 1, 2).format() == "–"


def test_p_values_are_written_to_their_precision():
    assert fmt_p(math.nan) == "–" and fmt_p(math.inf) == "–"
    assert fmt_p(0.00009) == "< 0.0001"
    assert fmt_p(0.0001) == "0.0001"
    assert fmt_p(0.0012345) == "0.0012"
    assert fmt_p(0.01) == "0.01" and fmt_p(0.012345) == "0.01" and fmt_p(0.5) == "0.50"


def test_welch_without_spread_or_values():
    same = welch([2.0, 2.0], [2.0, 2.0, 2.0])
    assert (same.diff, same.low, same.high, same.p, same.df) == (0.0, 0.0, 0.0, 1.0, math.inf)
    apart = welch([3.0, 3.0], [1.0, 1.0])
    assert (apart.diff, apart.low, apart.high, apart.p) == (2.0, 2.0, 2.0, 0.0)
    assert apart.reading(+1) == "holds"
    empty = welch([], [1.0, 2.0])
    assert math.isnan(empty.diff) and (empty.n_a, empty.n_b) == (0, 2)
    one_each = welch([1.0], [4.0], level=0.9)
    assert one_each.diff == -3.0 and math.isnan(one_each.low) and one_each.level == 0.9
    assert math.isnan(welch([1.0, 2.0], []).diff)


def test_welch_level_and_p_match_scipy():
    from scipy import stats

    a, b = [1.0, 2.0, 4.0, 3.5], [2.5, 3.0, 5.0]
    d95, d80 = welch(a, b), welch(a, b, level=0.8)
    assert d95.p == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-12)
    assert d80.p == d95.p and d80.level == 0.8
    se = math.sqrt(statistics.variance(a) / 4 + statistics.variance(b) / 3)
    half95 = stats.t.ppf(0.975, d95.df) * se
    assert d95.high - d95.diff == pytest.approx(half95, rel=1e-9)
    assert d95.low < d80.low < d80.high < d95.high
    assert d80.high - d80.diff == pytest.approx(stats.t.ppf(0.9, d95.df) * half95 / stats.t.ppf(
        0.975, d95.df), rel=1e-9)  # fmt: skip


def test_mean_ci_level_and_too_few_and_spearman_too_few():
    assert all(math.isnan(v) for v in mean_ci([1.0, math.nan]))
    low, high = mean_ci([1.0, 2.0, 3.0, math.inf], level=0.5)
    half = 0.816496580927726 / math.sqrt(3)  # t_0.75,2 = 1/√1.5
    assert (low, high) == pytest.approx((2 - half, 2 + half), rel=1e-9)
    rho, p, n = spearman([1.0, 2.0, math.nan], [1.0, 2.0, 3.0])
    assert math.isnan(rho) and math.isnan(p) and n == 2
    rho, p, n = spearman([1.0, 2.0, 3.0], [3.0, 2.0, 1.0])
    assert (rho, n) == (pytest.approx(-1.0), 3) and p == pytest.approx(0.0, abs=1e-9)


def test_too_few_or_no_spread_keep_the_counts_the_level_and_nan():
    assert welch([1.0, 3.0], [4.0]).diff == -2.0
    assert welch([1.0], [2.0, 4.0]).diff == -2.0
    one = welch([1.0], [2.0, 4.0], level=0.8)
    assert all(math.isnan(v) for v in (one.low, one.high, one.p, one.df))
    assert (one.n_a, one.n_b, one.level) == (1, 2, 0.8)
    flat = welch([2.0, 2.0], [1.0, 1.0, 1.0], level=0.8)
    assert (flat.n_a, flat.n_b, flat.level) == (2, 3, 0.8)
    with pytest.raises(ValueError, match="zip"):
        spearman([1.0, 2.0, 3.0], [1.0, 2.0])  # pairs, not two lists of any length
