"""A fast_dev_run of every experiment through the real pipeline (real data where it uses it)."""

import math
from pathlib import Path

import pytest

from convlab.record import read_record
from convlab.runner.run import train
from tests.conftest import compose_config
from tests.runner.test_configs import EXPERIMENTS


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_fast_dev_run(experiment, tmp_path: Path):
    cfg = compose_config([f"experiment={experiment}", "debug=fdr", "logger=csv"], tmp_path)
    record = train(cfg)
    # Every experiment at its defaults trains: a diverged or failed one is a broken experiment.
    assert record.status == "completed", record
    on_disk = read_record(tmp_path)
    assert on_disk["status"] == "completed"
    tested = {name: value for name, value in on_disk["metrics"].items() if name.startswith("test/")}
    assert tested and all(math.isfinite(float(value)) for value in tested.values()), tested
    assert on_disk["steps"] >= 1
