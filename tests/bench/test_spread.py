"""How the benches report: per-round ratios of medians, their spread, the untrusted flag."""

import pytest

from convlab.bench.spread import report, round_ratios, untrusted


def test_ratios_are_taken_round_by_round_from_each_sides_median():
    pipeline = [[2.0, 4.0, 100.0], [3.0, 3.0, 3.0]]  # medians 4 and 3
    plain = [[2.0, 2.0, 2.0], [1.0, 6.0, 6.0]]  # medians 2 and 6
    assert round_ratios(pipeline, plain) == [2.0, 0.5]


def test_a_spread_wider_than_ten_percent_of_the_median_is_untrusted():
    assert not untrusted([1.00, 1.05, 1.10])  # (1.10 - 1.00) / 1.05 < 0.10
    assert untrusted([1.00, 1.05, 1.12])


def test_report_prints_each_side_and_returns_medians_and_ratios(capsys):
    rounds = {"plain": [[1.0, 1.0], [2.0, 2.0]], "pipeline": [[1.5, 1.5], [2.0, 2.0]]}
    result = report(rounds, {"plain": "the loop", "pipeline": "train.py"}, "s", 1.0)
    assert result["plain"] == pytest.approx(1.5)
    assert result["pipeline"] == pytest.approx(1.75)
    assert result["pipeline_vs_plain"] == pytest.approx(1.25)  # rounds: 1.5 and 1.0
    out = capsys.readouterr().out
    assert "pipeline / plain  spread too wide to trust" in out
    assert "the loop" in out and "train.py" in out
