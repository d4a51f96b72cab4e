"""The study's verdicts follow from the numbers by the stated rules (on hand-made sweeps)."""

from __future__ import annotations

import json
from pathlib import Path

from convlab.report import build_report
from convlab.report.summary import Stat
from convlab.study.__main__ import main as study_main
from convlab.study.claims import (
    CLAIMS,
    judge_batch_arm,
    judge_normalization,
    judge_pooling,
    judge_sharpness,
)
from convlab.study.rules import contrast
from tests.report.test_report import make_job


def make_sweep(path: Path, groups: dict[tuple[str, ...], list[float | dict | None]],
               metric: str = ""):  # fmt: skip
    """One job per value (a value of ``metric``, or a dict of metrics); ``None`` is a diverged
    run. Keys are the group's overrides."""
    num = 0
    for overrides, values in groups.items():
        for seed, value in enumerate(values, 1):
            status = "diverged" if value is None else "completed"
            metrics = value if isinstance(value, dict) else {} if value is None else {metric: value}
            make_job(path, num, [*overrides, f"seed={seed}"], status, metrics)
            num += 1
    return build_report(path, curves=False, quiet=True)


def test_a_contrast_needs_a_resolved_welch_test():
    a, b = Stat.of([1.0, 1.1, 1.2]), Stat.of([2.0, 2.1, 2.2])

    def reading(b: Stat, lower_is_better: bool) -> str:
        return contrast(a, b, "m", lower_is_better, names=("a", "b")).reading

    assert reading(b, lower_is_better=True) == "holds"
    assert reading(b, lower_is_better=False) == "does not hold"
    assert reading(Stat.of([1.1, 1.3, 1.5]), lower_is_better=True) == "not resolved at n = 3"
    assert reading(Stat.of([]), lower_is_better=True) == "not resolved at n = 3/0"


def test_pooling_verdict(tmp_path: Path):
    acc = {
        ("model.pooling=max",): [0.880, 0.885, 0.890, 0.885, 0.880],
        ("model.pooling=strided",): [0.882, 0.886, 0.889, 0.884, 0.883],
    }
    verdict = judge_pooling(make_sweep(tmp_path / "a", acc, "test/acc"), {})
    assert verdict.word == "holds"  # the CI of strided − max lies above −0.01
    acc[("model.pooling=strided",)] = [0.80, 0.81, 0.82]
    verdict = judge_pooling(make_sweep(tmp_path / "b", acc, "test/acc"), {})
    assert verdict.word == "does not hold"
    assert "test/acc 0.8100 ± 0.010" in verdict.text  # the numbers the table shows
    assert verdict.contrasts[0].difference.n == "3/5"


def test_normalization_verdict(tmp_path: Path):
    mae = {
        ("data.normalization=none",): [3000.0, None, 2900.0],  # a diverged run
        ("data.normalization=unit",): [30.0, 35.0, 40.0],
        ("data.normalization=standard",): [30.0, 33.0, 36.0],
    }
    verdict = judge_normalization(make_sweep(tmp_path, mae, "test/mae"), {})
    # normalising helps (resolved), unit vs standard is not resolved at 3 seeds
    assert [c.reading for c in verdict.contrasts] == ["holds", "not resolved at n = 3"]
    assert verdict.word == "not resolved at n = 3"
    assert "1 of 3 diverged" in verdict.text


def _batch_sweep(path: Path, mae: dict[tuple[str, str], list[float]]):
    groups = {(f"sweep/batch_arm@_global_={arm}", f"optimizer={opt}"): values
              for (arm, opt), values in mae.items()}  # fmt: skip
    return make_sweep(path, groups, "test/mae")


def test_batch_size_arms(tmp_path: Path):
    mae = {}
    for opt in ("sgd", "adam"):
        mae["epochs_1", opt] = [20.0, 25.0, 30.0]
        mae["epochs_16", opt] = [900.0, 950.0, 1000.0]
        mae["steps_1", opt] = [40.0, 45.0, 50.0]
        mae["steps_16", opt] = [41.0, 44.0, 52.0]
        mae["lr_16", opt] = [22.0, 26.0, 29.0]
    report = _batch_sweep(tmp_path, mae)
    epochs = judge_batch_arm("epochs")(report, {})
    assert epochs.word == "holds" and len(epochs.contrasts) == 2
    assert judge_batch_arm("steps")(report, {}).word == "not resolved at n = 3"
    lr = judge_batch_arm("lr")(report, {})  # batch size 1 of the lr arm is epochs_1
    assert lr.word == "not resolved at n = 3"
    assert [(c.a, c.b) for c in lr.contrasts] == [
        ("adam batch 1", "adam batch 16"),
        ("sgd batch 1", "sgd batch 16"),
    ]


def test_sharpness_verdict_and_rank_correlation(tmp_path: Path):
    sweep = tmp_path / "s"
    num = 0
    for arm, sharp in (("epochs_1", [10.0, 11.0, 12.0]), ("epochs_1000", [30.0, 31.0, 33.0])):
        for seed, value in enumerate(sharp, 1):
            job = make_job(
                sweep,
                num,
                [f"sweep/batch_arm@_global_={arm}", "optimizer=adam", f"seed={seed}"],
                "completed",
                {"test/mae": value * 2},
            )
            record = json.loads((job / "metrics.json").read_text())
            record["sharpness"] = value
            (job / "metrics.json").write_text(json.dumps(record))
            num += 1
    verdict = judge_sharpness(build_report(sweep, curves=False, quiet=True), {})
    assert verdict.word == "larger batches sharper: holds"
    assert "all runs: ρ = 1.000" in verdict.text  # test/mae = 2 × sharpness: ranks agree


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
    assert "| A − B [95 % CI] | Welch p | reading |" in text  # the comparison table
    assert "## Receptive fields of LeNet" in text and "5 AvgPool2d" in text
    assert "![pooling: final test/acc](figures/pooling_final_test_acc.png)" in text
    assert (doc.parent / "figures" / "pooling_final_test_acc.png").is_file()


def test_every_claim_names_a_sweep_config():
    root = Path(__file__).resolve().parents[2]
    for claim in CLAIMS:
        assert (root / "conf" / "sweep" / f"{claim.sweep}.yaml").is_file(), claim.sweep


def test_quick_study_runs_a_new_claim_end_to_end(tmp_path: Path, monkeypatch):
    """A tiny real sweep (max_residual at --quick: 1 epoch, 2 seeds) through the study code."""
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    out, doc = tmp_path / "study", tmp_path / "RESULTS.md"
    assert study_main(["--quick", "--only", "max_residual", "--out", str(out),
                       "--doc", str(doc)]) == 0  # fmt: skip
    text = doc.read_text()
    assert "A residual connection helps at equal parameter count" in text
    assert "model=residual_mlp below model=mlp | test/mae | 2/2 |" in text
    assert (doc.parent / "figures" / "max_residual_final_test_mae.png").is_file()
    assert len(list(out.glob("max_residual/*/metrics.json"))) == 4


def test_a_claim_plotting_sharpness_gets_its_section(tmp_path: Path, monkeypatch):
    """Sharpness is no split's metric: it has a final-value plot and no validation curve."""
    sweep = tmp_path / "study" / "max_batch_size"
    num = 0
    for arm in ("epochs_1", "epochs_1000"):
        for seed in (1, 2):
            overrides = [f"sweep/batch_arm@_global_={arm}", "optimizer=adam", f"seed={seed}"]
            job = make_job(sweep, num, overrides, "completed", {"test/mae": 10.0 + num})
            record = json.loads((job / "metrics.json").read_text())
            record["sharpness"] = 1.0 + num
            (job / "metrics.json").write_text(json.dumps(record))
            num += 1
    doc = tmp_path / "docs" / "RESULTS.md"
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    assert study_main(["--only", "max_batch_size", "--out", str(tmp_path / "study"),
                       "--doc", str(doc), "--report-only"]) == 0  # fmt: skip
    assert "Larger batches reach sharper minima" in doc.read_text()
