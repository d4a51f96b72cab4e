"""The study's verdicts follow from the numbers by the stated rules (on hand-made sweeps)."""

from __future__ import annotations

from pathlib import Path

from convlab.report import build_report
from convlab.report.summary import Stat
from convlab.study.__main__ import main as study_main
from convlab.study.claims import CLAIMS, judge_batch_size, judge_normalization, judge_pooling
from convlab.study.rules import compare
from tests.report.test_report import make_job


def make_sweep(path: Path, groups: dict[tuple[str, ...], list[float | None]], metric: str):
    """One job per value; ``None`` is a diverged run. Keys are the group's overrides."""
    num = 0
    for overrides, values in groups.items():
        for seed, value in enumerate(values, 1):
            status = "diverged" if value is None else "completed"
            metrics = {} if value is None else {metric: value}
            make_job(path, num, [*overrides, f"seed={seed}"], status, metrics)
            num += 1
    return build_report(path, curves=False, quiet=True)


def test_compare_needs_separated_intervals():
    a, b = Stat.of([1.0, 1.1, 1.2]), Stat.of([2.0, 2.1, 2.2])
    assert compare(a, b, lower_is_better=True) == "better"
    assert compare(a, b, lower_is_better=False) == "worse"
    assert compare(a, Stat.of([1.1, 1.3, 1.5]), lower_is_better=True) == "no clear difference"
    assert compare(a, Stat.of([]), lower_is_better=True) == "unknown"


def test_pooling_verdict(tmp_path: Path):
    acc = {
        ("model.pooling=max",): [0.88, 0.89, 0.90],
        ("model.pooling=strided",): [0.87, 0.89, 0.9],
    }
    assert judge_pooling(make_sweep(tmp_path / "a", acc, "test/acc"), {}).word == "holds"
    acc[("model.pooling=strided",)] = [0.80, 0.81, 0.82]
    verdict = judge_pooling(make_sweep(tmp_path / "b", acc, "test/acc"), {})
    assert verdict.word == "does not hold"
    assert "test/acc 0.8100 ± 0.010" in verdict.text  # the numbers the table shows


def test_normalization_verdict(tmp_path: Path):
    mae = {
        ("data.normalization=none",): [3000.0, None, 2900.0],  # a diverged run
        ("data.normalization=unit",): [30.0, 35.0, 40.0],
        ("data.normalization=standard",): [30.0, 33.0, 36.0],
    }
    verdict = judge_normalization(make_sweep(tmp_path, mae, "test/mae"), {})
    assert verdict.word.startswith("partly holds")
    assert "1 of 3 diverged" in verdict.text


def test_batch_size_verdict(tmp_path: Path):
    mae = {}
    for opt in ("sgd", "adam"):
        mae[(f"optimizer={opt}", "data.batch_size=1")] = [20.0, 25.0, 30.0]
        mae[(f"optimizer={opt}", "data.batch_size=16")] = [900.0, 950.0, 1000.0]
    assert judge_batch_size(make_sweep(tmp_path / "a", mae, "test/mae"), {}).word.startswith(
        "holds"
    )
    mae[("optimizer=adam", "data.batch_size=16")] = [50.0, 60.0, 70.0]
    verdict = judge_batch_size(make_sweep(tmp_path / "b", mae, "test/mae"), {})
    assert verdict.word == "depends on the optimizer"


def test_study_report_only_writes_results(tmp_path: Path, monkeypatch):
    out = tmp_path / "study"
    acc = {("model.pooling=max",): [0.88, 0.89], ("model.pooling=strided",): [0.87, None]}
    make_sweep(out / "pooling", acc, "test/acc")
    make_job(out / "pooling", 9, ["model.pooling=avg", "seed=1"], "missing", {})
    doc = tmp_path / "docs" / "RESULTS.md"
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # conf/sweep is read for settings
    assert study_main(["--only", "pooling", "--out", str(out), "--doc", str(doc),
                       "--report-only"]) == 0  # fmt: skip
    text = doc.read_text()
    assert "| 1 | Strided convolution can replace max pooling | inconclusive (1 of 5 runs " in text
    assert "![pooling: final test/acc](figures/pooling_final_test_acc.png)" in text
    assert (doc.parent / "figures" / "pooling_final_test_acc.png").is_file()


def test_every_claim_names_a_sweep_config():
    root = Path(__file__).resolve().parents[2]
    for claim in CLAIMS:
        assert (root / "conf" / "sweep" / f"{claim.sweep}.yaml").is_file(), claim.sweep
