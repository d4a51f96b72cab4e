"""The claims' own rules on hand-made sweeps: break the rule's number, watch the verdict change."""

from __future__ import annotations

from pathlib import Path

import yaml

from convlab.report import build_report
from convlab.study.claims import (
    PATCH_CLOSE,
    judge_gated,
    judge_maxpool,
    judge_position,
    judge_shift_robust,
)
from convlab.study.document import composed_settings
from convlab.study.rules import LEARNS_MAE
from tests.report.test_report import make_job
from tests.study.test_study import make_sweep


def gated(path: Path, mae: dict[str, list[float | None]]):
    """Groups by lr, each run with its test/mae (None: diverged) and a test/mse."""
    return make_sweep(path, {(f"optimizer.lr={lr}",): [
        None if v is None else {"test/mae": v, "test/mse": 4.0} for v in values]
        for lr, values in mae.items()})  # fmt: skip


def test_gated_claim_holds_only_when_the_tiny_rates_alone_learn(tmp_path: Path):
    below, above = 190.0, 210.0  # LEARNS_MAE: 1 % of the range (0, 20000)
    assert LEARNS_MAE == 200
    assert judge_gated(gated(tmp_path / "a", {"1e-08": [below] * 3, "0.001": [above] * 3}),
                       {}).word == "holds"  # fmt: skip
    # a larger rate learns too: the "only at 1e-8" part fails
    verdict = judge_gated(gated(tmp_path / "b", {"1e-08": [below] * 3, "0.001": [below] * 3}), {})
    assert verdict.word == "does not hold" and "learns at lr 1e-08, 0.001" in verdict.text
    # nothing learns: the mean is above the threshold, or a run diverged
    slow = {"0.001": [above] * 3}
    assert judge_gated(gated(tmp_path / "c", {"1e-08": [above] * 3, **slow}),
                       {}).word == "does not hold"  # fmt: skip
    assert judge_gated(gated(tmp_path / "d", {"1e-08": [below, below, None], **slow}),
                       {}).word == "does not hold"  # fmt: skip


def patches(path: Path, relu: tuple[float, float], linear: tuple[float, float]):
    """Random patches: patch_relu and patch_linear with (val/mae, test/mae) on 3 seeds each."""
    groups = {}
    for model, (val, test) in (("patch_relu", relu), ("patch_linear", linear)):
        runs = [{"val/mae": val + 1e-4 * s, "test/mae": test + 1e-4 * s} for s in range(3)]
        groups[(f"model={model}", "data.source=random")] = runs
    return make_sweep(path, groups)


def test_maxpool_claim_reads_the_closeness_threshold_in_and_out_of_range(tmp_path: Path):
    close, far = 0.009, 0.011  # PATCH_CLOSE: 1 % of the patches' range (0, 1)
    assert PATCH_CLOSE == 0.01
    word = judge_maxpool(patches(tmp_path / "a", (close, close), (far, far)), {}, {}).word
    assert word == "holds (a conv + ReLU layer, in and out of range)"
    word = judge_maxpool(patches(tmp_path / "b", (close, far), (far, far)), {}, {}).word
    assert word == "holds in range only (a conv + ReLU layer)"
    word = judge_maxpool(patches(tmp_path / "c", (far, far), (far, far)), {}, {}).word
    assert word == "does not hold"
    word = judge_maxpool(patches(tmp_path / "d", (far, far), (close, far)), {}, {}).word
    assert word == "does not hold; a strided convolution alone gets close"


def robustness(path: Path, activation: str, change: dict[str, float], drop: dict[str, float],
               noise_drop: dict[str, float] | None = None):  # fmt: skip
    """Per down-sampling: 5 seeds with a feature change and shifted/noisy accuracies that lose
    ``drop`` per pixel of shift (and ``noise_drop``, default ``drop``, per 0.1 of noise std)."""
    noise_drop = noise_drop or drop
    groups = {}
    for pooling in ("avg", "max", "strided"):
        runs = []
        for seed in range(5):
            jitter = 1e-3 * (seed - 2)
            metrics = {
                "test/acc": 0.88 + jitter,
                "test/feature_change_1px": change[pooling] + jitter,
            }
            for d in (1, 2, 3):
                metrics[f"test/acc_shift_{d}px"] = 0.88 - d * drop[pooling] + 2 * jitter
            for std in (0.1, 0.3):
                metrics[f"test/acc_noise_{std:g}"] = 0.88 - 10 * std * noise_drop[pooling] + jitter
            runs.append(metrics)
        groups[(f"model.activation={activation}", f"model.pooling={pooling}")] = runs
    return make_sweep(path, groups)


def test_position_and_shift_claims_compare_pooling_with_the_strided_convolution(tmp_path: Path):
    change = {"avg": 0.2, "max": 0.3, "strided": 0.5}
    drop = {"avg": 0.05, "max": 0.04, "strided": 0.1}
    relu = robustness(tmp_path / "relu", "relu", change, drop)
    sigmoid = {"lenet_activation": robustness(tmp_path / "sig", "sigmoid", change, drop)}
    position = judge_position(relu, {}, sigmoid)
    assert position.word == "holds"
    assert [(c.a, c.b) for c in position.contrasts][:2] == [
        ("ReLU, avg pooling", "ReLU, strided"),
        ("ReLU, max pooling", "ReLU, strided"),
    ]
    shifted = judge_shift_robust(relu, {}, sigmoid)
    assert shifted.word == "holds"
    # 3 shifts and 2 noise levels per activation; the verdict is the shifts'
    assert len(shifted.contrasts) == 10
    assert shifted.contrasts[0].metric == "test/acc − test/acc_shift_1px"
    assert "ReLU 1px holds" in shifted.text and "sigmoid 0.3 holds" in shifted.text

    # the noise rows are reported, the shifts decide: max pooling loses more under noise
    noisy = robustness(tmp_path / "noisy", "relu", change, drop, drop | {"max": 0.2})
    robust = judge_shift_robust(noisy, {}, {})
    assert robust.word == "holds" and "ReLU 0.1 does not hold" in robust.text
    # max pooling loses more than the strided convolution under the sigmoid: does not hold
    worse = robustness(tmp_path / "worse", "sigmoid", change, drop | {"max": 0.2})
    assert judge_shift_robust(relu, {}, {"lenet_activation": worse}).word == "does not hold"
    # pooling changes its features as much as the strided convolution: not resolved
    same = robustness(tmp_path / "same", "relu", {"avg": 0.5, "max": 0.5, "strided": 0.5}, drop)
    assert judge_position(same, {}, {}).word == "not resolved at n = 5"


def test_position_claim_without_the_evaluation_says_what_is_missing(tmp_path: Path):
    acc = {("model.pooling=max",): [0.88, 0.89], ("model.pooling=strided",): [0.87, 0.88]}
    report = make_sweep(tmp_path, acc, "test/acc")
    assert "callbacks=shift_noise" in judge_position(report, {}, {}).text
    assert "callbacks=shift_noise" in judge_shift_robust(report, {}, {}).text


def test_a_stacked_sweep_reports_the_settings_its_jobs_ran(tmp_path: Path):
    """Members (<job>/seed=<s>/) have no .hydra of their own: their job's config is read."""
    job = make_job(tmp_path, 0, ["experiment=max_regression"], "completed", {})
    config = {"trainer": {"max_epochs": 10}, "data": {"batch_size": 1},
              "optimizer": {"_target_": "torch.optim.Adam", "lr": 0.001}}  # fmt: skip
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    (job / "metrics.json").write_text('{"status": "completed", "members": ["seed=1", "seed=2"]}')
    for seed in (1, 2):
        (job / f"seed={seed}").mkdir()
        (job / f"seed={seed}" / "metrics.json").write_text(
            f'{{"status": "completed", "seed": {seed}, "member_of": "{job.name}", '
            '"metrics": {"test/mae": 20.0}}')  # fmt: skip
    report = build_report(tmp_path, curves=False, quiet=True)
    assert [run.path.name for run in report.runs] == ["seed=1", "seed=2"]
    assert composed_settings(report) == (
        "`trainer.max_epochs=10`, `data.batch_size=1`, "
        "`Adam(lr=0.001)` unless the table's columns say otherwise"
    )
