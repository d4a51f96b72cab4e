"""Sweepers and launchers: Optuna search, joblib for local parallel sweeps, SLURM via submitit.

No cluster exists here, so the SLURM configs are tested by composing them; the Optuna search
runs for real on a fast_dev_run budget; local launchers really launching are ``slow``.
"""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from convlab.record import read_record
from convlab.runner.job import available_cores
from tests.conftest import compose_config, run_script

SLURM_TARGET = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
JOBLIB_TARGET = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"


def fixture_data(fashion: Path) -> list[str]:
    return [f"data.data_dir={fashion}", "data.system_dir=null", "data.download=false",
            "data.val_size=100"]  # fmt: skip


def test_slurm_launcher_asks_for_one_gpu_per_job(tmp_path: Path):
    cfg = compose_config(["hydra/launcher=slurm"], tmp_path)
    assert cfg.hydra.launcher._target_ == SLURM_TARGET
    assert cfg.hydra.launcher.partition is None  # sbatch then uses the cluster's default

    cfg = compose_config(
        ["hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=240",
         "trainer=gpu"],
        tmp_path,
    )  # fmt: skip
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert launcher["partition"] == "gpu"
    assert launcher["timeout_min"] == 240
    assert (launcher["nodes"], launcher["gpus_per_node"], launcher["tasks_per_node"]) == (1, 1, 1)
    assert launcher["submitit_folder"].startswith(str(cfg.hydra.sweep.dir))


def test_slurm_ddp_launcher_follows_the_trainers_devices_and_nodes(tmp_path: Path):
    cfg = compose_config(
        ["hydra/launcher=slurm_ddp", "hydra.launcher.partition=gpu", "trainer=ddp",
         "trainer.devices=4", "trainer.num_nodes=2"],
        tmp_path,
    )  # fmt: skip
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert launcher["_target_"] == SLURM_TARGET
    # One SLURM task per GPU: Lightning takes each task as one DDP rank.
    assert (launcher["nodes"], launcher["gpus_per_node"], launcher["tasks_per_node"]) == (2, 4, 4)
    assert cfg.trainer.strategy == "ddp"


def test_local_parallel_launcher_is_joblib_with_two_jobs(tmp_path: Path):
    cfg = compose_config(["hydra/launcher=local_parallel"], tmp_path)
    assert cfg.hydra.launcher._target_ == JOBLIB_TARGET
    assert cfg.hydra.launcher.n_jobs == 2
    # The sweep's job count, which each job's thread budget (runner.job.share_cores) divides by.
    assert "sweep_summary" in cfg.hydra.callbacks


def test_optuna_search_composes_for_lenet_modern(tmp_path: Path):
    cfg = compose_config(["hparams_search=lenet_modern_optuna"], tmp_path)
    assert cfg.task_name == "lenet_modern" and cfg.model.activation == "relu"
    assert cfg.optimized_metric == "val/acc"
    sweeper = cfg.hydra.sweeper
    assert "OptunaSweeper" in sweeper._target_ and sweeper.direction == "maximize"
    assert set(sweeper.params) == {"optimizer.lr", "data.batch_size"}


def test_optuna_search_runs_trials_and_reports_the_best(fashion_fixture: Path, tmp_path: Path):
    sweep_dir = tmp_path / "search"
    result = run_script(
        ["hparams_search=lenet_modern_optuna", "debug=fdr", "hydra.sweeper.n_trials=3",
         "logger=none", *fixture_data(fashion_fixture), f"hydra.sweep.dir={sweep_dir}"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "sweep: 3 jobs" in log and "job 3/3:" in log  # progress of the sweep
    records = [read_record(path) for path in sorted(sweep_dir.glob("*/metrics.json"))]
    assert len(records) == 3
    best = OmegaConf.load(sweep_dir / "optimization_results.yaml")
    assert best["best_value"] == pytest.approx(max(r["metrics"]["val/acc"] for r in records))
    assert 1e-4 <= best["best_params"]["optimizer.lr"] <= 1e-2
    assert best["best_params"]["data.batch_size"] in (64, 128, 256, 512)


@pytest.mark.slow
def test_joblib_sweep_runs_jobs_in_parallel_with_one_thread_each(fashion_fixture, tmp_path):
    sweep_dir = tmp_path / "sweep"
    result = run_script(
        ["-m", "hydra/launcher=local_parallel", "debug=fdr", "logger=none", "seed=1,2",
         *fixture_data(fashion_fixture), f"hydra.sweep.dir={sweep_dir}"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    logs = sorted(sweep_dir.glob("*/train.log"))
    assert len(logs) == 2
    for job_log in logs:
        text = job_log.read_text()
        threads = max(1, available_cores() // 2)
        assert (
            f"joblib: 2 jobs at a time on {available_cores()} cpus, {threads} torch threads" in text
        )
        assert read_record(job_log.parent)["status"] == "completed"


@pytest.mark.slow
def test_submitit_local_launcher_runs_a_job(fashion_fixture, tmp_path):
    # The code path SLURM uses (submitit pickles the job, runs it in a fresh process), locally.
    sweep_dir = tmp_path / "sweep"
    result = run_script(
        ["-m", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5", "debug=fdr",
         "logger=none", *fixture_data(fashion_fixture), f"hydra.sweep.dir={sweep_dir}"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    records = [read_record(path) for path in sweep_dir.glob("*/metrics.json")]
    assert [record["status"] for record in records] == ["completed"]
