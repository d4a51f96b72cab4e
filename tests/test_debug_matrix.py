"""Every debug config runs with every experiment, through the real pipeline (real data where the
experiment uses it); the budget is shortened only where the debug config leaves it alone."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from convlab.record import read_record
from convlab.runner.check.validate import find_problems
from convlab.runner.run import train
from tests.conftest import compose_config
from tests.runner.test_configs import DEBUGS, EXPERIMENTS

# What each debug config is about stays as shipped: fast_dev_run, limit's batch counts, overfit's
# batches and profiler's profiler. One epoch of default and profiler is a whole one (a LeNet epoch
# takes seconds), cut to a few batches; limit's and overfit's epochs to two (an epoch boundary).
FEW_BATCHES = ["+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1",
               "+trainer.limit_test_batches=1"]  # fmt: skip
BUDGET = {"default": FEW_BATCHES, "profiler": FEW_BATCHES, "limit": ["trainer.max_epochs=2"],
          "overfit": ["trainer.max_epochs=2"]}  # fmt: skip


@pytest.mark.parametrize("experiment", EXPERIMENTS)
@pytest.mark.parametrize("debug", DEBUGS)
def test_debug_config_runs_with_experiment(debug, experiment, tmp_path: Path):
    overrides = [f"experiment={experiment}", f"debug={debug}", "logger=csv"]
    cfg = compose_config([*overrides, *BUDGET.get(debug, [])], tmp_path)
    assert find_problems(cfg) == []
    assert train(cfg).status == "completed"
    record = read_record(tmp_path)
    tested = {name: value for name, value in record["metrics"].items() if name.startswith("test/")}
    assert tested and all(math.isfinite(float(value)) for value in tested.values()), tested
    assert record["steps"] >= 1
