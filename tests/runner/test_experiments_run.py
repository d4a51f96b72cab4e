"""A fast_dev_run of every experiment through the real pipeline (real data where it uses it)."""

from pathlib import Path

import pytest

from convlab.runner.record import read_record
from convlab.runner.run import train
from tests.conftest import compose_config
from tests.runner.test_configs import EXPERIMENTS


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_fast_dev_run(experiment, tmp_path: Path):
    cfg = compose_config([f"experiment={experiment}", "debug=fdr", "logger=csv"], tmp_path)
    record = train(cfg)
    assert record.status in {"completed", "diverged"}
    on_disk = read_record(tmp_path)
    assert on_disk["status"] == record.status
    assert any(name.startswith("test/") for name in on_disk["metrics"])
    assert on_disk["steps"] >= 1
