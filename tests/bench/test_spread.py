"""How the benches report: per-round ratios of medians, their spread, the untrusted flag."""

import os

import pytest

from convlab.bench.spread import alternate, report, round_ratios, untrusted


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


def test_sides_alternate_round_by_round_and_each_round_is_printed(capsys):
    calls = []

    def side(name, seconds):
        return lambda r: calls.append((name, r)) or [seconds + r, seconds]

    times = alternate({"plain": side("plain", 0.001234), 4: side(4, 0.002)}, 2, "us/step", 1e6)
    assert calls == [("plain", 0), (4, 0), ("plain", 1), (4, 1)]
    assert times == {"plain": [[0.001234, 0.001234], [1.001234, 0.001234]],
                     4: [[0.002, 0.002], [1.002, 0.002]]}  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "round 1/2 (us/step): {'plain': [1234, 1234], 4: [2000, 2000]}",
        "round 2/2 (us/step): {'plain': [1001234, 1234], 4: [1002000, 2000]}",
    ]
    alternate({"pipeline": lambda r: [1.23456]}, 1, "s per epoch", digits=2)
    assert capsys.readouterr().out == "round 1/1 (s per epoch): {'pipeline': [1.23]}\n"


def test_a_side_prints_nothing_of_its_own_console(capfd):
    """Progress bars and Lightning's lines go to the null device; the round's line is kept."""

    def noisy(round_):
        print("Epoch 0: 100%|██████████|")
        os.write(2, b"GPU available: False\n")
        return [1.0]

    alternate({"pipeline": noisy}, 1, "s")
    out, err = capfd.readouterr()
    assert (out, err) == ("round 1/1 (s): {'pipeline': [1]}\n", "")
