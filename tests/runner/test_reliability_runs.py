"""Faults during runs and sweeps (docs/RELIABILITY.md): a failed job is recorded and the sweep
goes on; sweeps started at the same moment never share a folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from omegaconf import OmegaConf

from convlab.record import read_record
from tests.conftest import ROOT, make_fashion_fixture, run_script


def _tiny(data: Path) -> list[str]:
    return [f"data.data_dir={data}", "data.system_dir=null", "data.download=false",
            "data.val_size=100", "debug=fdr", "logger=none", "callbacks=none"]  # fmt: skip


def _records(sweep_dir: Path) -> dict[str, dict]:
    return {path.parent.name: read_record(path) for path in sweep_dir.glob("*/metrics.json")}


def test_failed_job_is_recorded_and_the_sweep_goes_on(tmp_path):
    data = make_fashion_fixture(tmp_path / "fashion")
    sweep_dir = tmp_path / "sweep"
    # Job 0 fails in its first step; job 1 never reaches the failing step.
    result = run_script([
        "-m", *_tiny(data), "+callbacks.fault._target_=tests.faults.FailAt",
        "+callbacks.fault.step=0,1000", f"hydra.sweep.dir={sweep_dir}",
    ])  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    records = _records(sweep_dir)
    assert sorted(r["status"] for r in records.values()) == ["completed", "failed"], records
    failed = next(r for r in records.values() if r["status"] == "failed")
    assert failed["error"] == "RuntimeError: injected failure"
    assert "job failed: RuntimeError: injected failure (traceback in" in output
    assert "Traceback" not in output  # it went to the job's train.log
    assert "1 completed, 1 failed" in output  # the summary after the sweep


def test_two_sweeps_started_in_the_same_second_use_different_folders(tmp_path):
    """Both sweep folders are named as conf/hydra/default.yaml names them, with the timestamp
    frozen so the two starts fall in the same second for sure; the random id keeps them apart,
    while every job of one sweep shares its folder."""
    data = make_fashion_fixture(tmp_path / "fashion")
    same_second = f"hydra.sweep.dir={tmp_path}/multiruns/2000-01-01_00-00-00-${{uid:}}"
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    env.pop("CONVLAB_RUN_UID", None)
    command = [sys.executable, str(ROOT / "train.py"), "-m", *_tiny(data), "seed=1,2", same_second]
    sweeps = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [sweep.communicate(timeout=300)[0] for sweep in sweeps]
    assert [sweep.returncode for sweep in sweeps] == [0, 0], outputs

    folders = sorted((tmp_path / "multiruns").iterdir())
    assert len(folders) == 2, folders
    assert all(f.name.startswith("2000-01-01_00-00-00-") for f in folders)
    for folder in folders:
        records = _records(folder)
        assert len(records) == 2 and all(r["status"] == "completed" for r in records.values())


def test_run_and_sweep_folders_carry_the_random_id():
    hydra_conf = OmegaConf.load(ROOT / "conf" / "hydra" / "default.yaml")
    for key in ("run", "sweep"):
        pattern = hydra_conf[key]._get_node("dir")._value()
        assert pattern.endswith("${now:%Y-%m-%d_%H-%M-%S}-${uid:}"), pattern
