"""Sweep progress ("job 3/12") and the joblib thread budget, on hand-made Hydra configs."""

import logging

import pytest
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf, open_dict, read_write

from convlab.runner import job as hydra_callbacks
from convlab.runner.job import SweepSummary, available_cores, run_job, share_cores
from convlab.runner.overrides import count_jobs
from tests.conftest import compose_config

BASIC = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
OPTUNA = "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"


def sweep_config(task_overrides, params=None, sweeper=BASIC, **sweeper_extra):
    return OmegaConf.create(
        {
            "hydra": {
                "sweeper": {"_target_": sweeper, "params": params, **sweeper_extra},
                "overrides": {"task": task_overrides},
                "sweep": {"dir": "/tmp/sweep"},
            }
        }
    )


@pytest.mark.parametrize(
    ("task", "params", "expected"),
    [
        (["seed=1,2,3"], None, 3),
        (["model.pooling=avg,max", "trainer.max_epochs=1"], {"seed": "1,2,3"}, 6),
        (["seed=5"], {"seed": "1,2,3", "model.pooling": "avg,max,strided"}, 3),  # CLI wins
        (["optimizer.lr=range(1,4)"], None, 3),
        ([], None, 1),
    ],
)
def test_count_jobs_of_the_basic_sweeper(task, params, expected):
    assert count_jobs(sweep_config(task, params)) == expected


def test_count_jobs_of_optuna_is_its_trial_budget():
    assert count_jobs(sweep_config([], sweeper=OPTUNA, n_trials=7)) == 7


def test_count_jobs_unknown_is_none():
    assert count_jobs(sweep_config(["experiment=glob(*)"])) is None
    assert count_jobs(sweep_config([], sweeper="somewhere.Else")) is None


def job_config(num, overrides, launcher=None, torch_threads=None):
    cfg = sweep_config(overrides)
    cfg.hydra.mode = RunMode.MULTIRUN
    cfg.hydra.job = {"num": num}
    cfg.hydra.launcher = launcher or {"_target_": "BasicLauncher"}
    cfg.torch_threads = torch_threads
    return cfg


def test_job_progress_logs_job_number_of_total(monkeypatch, caplog, tmp_path):
    monkeypatch.delenv(hydra_callbacks.TOTAL_ENV, raising=False)
    cfg = compose_config([], tmp_path / "job")
    with caplog.at_level(logging.INFO, logger="convlab"):
        sweep = sweep_config(["seed=1,2", "model.pooling=avg,max,strided"])
        SweepSummary().on_multirun_start(sweep)
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            cfg.hydra.mode = RunMode.MULTIRUN
            cfg.hydra.job.num = 2
            cfg.hydra.overrides.task = ["seed=1", "model.pooling=strided"]
        HydraConfig.instance().set_config(cfg)
        assert run_job(lambda cfg: "done", cfg) == "done"
    messages = [record.getMessage() for record in caplog.records]
    assert "sweep: 6 jobs into /tmp/sweep" in messages
    assert "job 3/6: seed=1 model.pooling=strided" in messages
    assert any(m.startswith("job 3/6 finished in") for m in messages)


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


JOBLIB = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"}


def test_thread_budget_splits_the_cpus_between_joblib_workers(monkeypatch, restore_threads):
    monkeypatch.setattr(hydra_callbacks, "available_cores", lambda: 8)
    monkeypatch.setenv(hydra_callbacks.TOTAL_ENV, "12")
    share_cores(job_config(0, [], launcher={**JOBLIB, "n_jobs": 2}).hydra, None)
    assert torch.get_num_threads() == 4
    share_cores(job_config(0, [], launcher={**JOBLIB, "n_jobs": -1}).hydra, None)
    assert torch.get_num_threads() == 1  # -1: one worker per cpu
    monkeypatch.setenv(hydra_callbacks.TOTAL_ENV, "2")  # only 2 jobs: 2 workers busy
    share_cores(job_config(0, [], launcher={**JOBLIB, "n_jobs": -1}).hydra, None)
    assert torch.get_num_threads() == 4


def test_thread_budget_leaves_explicit_threads_and_other_launchers_alone(restore_threads):
    torch.set_num_threads(1)
    share_cores(job_config(0, [], launcher={**JOBLIB, "n_jobs": 2}).hydra, 3)
    share_cores(job_config(0, []).hydra, None)
    assert torch.get_num_threads() == 1
    assert available_cores() >= 1
