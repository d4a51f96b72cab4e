"""Scoring the training epoch at its end gives the same numbers as logging every step."""

import csv
from pathlib import Path

import pytest

from convlab.runner.run import train
from tests.conftest import compose_config


def _train_acc(run_dir: Path) -> list[float]:
    with (run_dir / "csv" / "metrics.csv").open() as handle:
        return [float(row["train/acc"]) for row in csv.DictReader(handle) if row.get("train/acc")]


def test_deferred_training_scores_match_per_step_scores(tmp_path: Path):
    common = ["experiment=max_classification", "trainer.max_epochs=2", "data.n_train=200",
              "logger=csv"]  # fmt: skip
    record = train(compose_config([*common, "task.log_train_steps=false"], tmp_path / "a"))
    reference = train(compose_config([*common, "task.log_train_steps=true"], tmp_path / "b"))
    assert record.metrics == reference.metrics
    assert _train_acc(tmp_path / "a") == pytest.approx(_train_acc(tmp_path / "b"), abs=1e-6)
    assert len(_train_acc(tmp_path / "a")) == 2
