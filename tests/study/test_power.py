"""Seeds that would decide a comparison: the power of Welch's test, and what RESULTS.md says."""

from __future__ import annotations

from pathlib import Path

from convlab.report.summary import Stat
from convlab.study.__main__ import main as study_main
from convlab.study.claims import ESTIMATE_MIN
from convlab.study.power import MOST_SEEDS, power, seeds_statement, seeds_to_decide
from convlab.study.rules import contrast
from tests.study.test_study import make_sweep


def spread(mean: float, std: float) -> Stat:
    """Three values with that mean and sample std."""
    return Stat.of([mean - std, mean, mean + std])


def test_seeds_match_the_textbook_two_sample_power():
    # Cohen's table, two-sided 0.05, 80 % power: d = 0.5 needs 64 per group, d = 0.8 needs 26;
    # d = 2 needs 6, where the t's degrees of freedom (2n - 2) matter
    for d, n in ((0.5, 64), (2.0, 6), (0.8, 26)):
        c = contrast(spread(d, 1.0), spread(0.0, 1.0), "m", False, names=("a", "b"))
        assert c.reading == "not resolved at n = 3"
        assert seeds_to_decide(c) == n
        assert power(n - 1, d, 1.0, 1.0) < 0.8 <= power(n, d, 1.0, 1.0)
    assert seeds_statement(c) == "n = 26 seeds per group (now 3)"


def test_a_margin_is_decided_by_the_worse_end_of_the_ci():
    """Not worse by more than 0.5 (higher is better), measured difference 0: the one-sided
    test at 0.025 of a shift of 0.5 std, which Cohen's d = 0.5 also needs (63-64)."""
    c = contrast(spread(0.0, 1.0), spread(0.0, 1.0), "m", False, margin=0.5, names=("a", "b"))
    assert c.reading == "not resolved at n = 3"
    assert 60 <= seeds_to_decide(c) <= 64
    # a is measured worse by the margin itself: no number of seeds shows it is not worse
    worse = contrast(spread(-0.5, 1.0), spread(0.0, 1.0), "m", False, margin=0.5, names=("a", "b"))
    assert seeds_to_decide(worse) is None
    assert seeds_statement(worse).startswith(f"more than {MOST_SEEDS:,} seeds per group")


def test_no_number_without_two_values_per_group():
    c = contrast(spread(1.0, 1.0), Stat.of([]), "m", False, names=("a", "b"))
    assert seeds_to_decide(c) is None
    assert seeds_statement(c) == "not computable: a group has fewer than two values (n = 3/0)"
    # without a CI a margin is not resolved either
    margin = contrast(spread(1.0, 1.0), Stat.of([]), "m", False, margin=0.5, names=("a", "b"))
    assert margin.reading == "not resolved at n = 3/0"


def test_results_state_the_seeds_for_a_verdict_not_resolved(tmp_path: Path, monkeypatch):
    out = tmp_path / "study"
    acc = {("model.pooling=max",): [0.880, 0.885, 0.890],
           ("model.pooling=strided",): [0.870, 0.890, 0.880]}  # fmt: skip
    make_sweep(out / "pooling", acc, "test/acc")
    doc = tmp_path / "RESULTS.md"
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # conf/sweep is read for settings
    assert study_main(["--only", "pooling", "--out", str(out), "--doc", str(doc),
                       "--report-only"]) == 0  # fmt: skip
    text = doc.read_text()
    assert "| reading | seeds for 80 % power |" in text
    assert "| 1 | Strided convolution can replace max pooling | not resolved at n = 3 |" in text
    assert "**Seeds to decide it** (80 % power at the measured difference and spreads): " in text
    assert "by more than 0.01000 (test/acc): n = 41 seeds per group (now 3)." in text
    # the sweep config runs 10 seeds in its estimated minutes: 41 take 4.1 times as long
    minutes = ESTIMATE_MIN["pooling"]
    assert (f"At n = 41 seeds per group, on 2 idle cores: `pooling` ~{minutes * 4.1:.0f} min "
            f"(now {minutes:g} at 10 seeds)") in text  # fmt: skip
    # the cost is stated once, in the first line
    assert text.count("min on 2 idle CPU cores") == 1 and "report only (`make study`" in text
