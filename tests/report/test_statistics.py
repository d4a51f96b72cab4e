"""Welch's comparison checked against values worked out by hand (closed forms, not the code)."""

from __future__ import annotations

import math

import pytest

from convlab.report.statistics import mean_ci, spearman, welch


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
