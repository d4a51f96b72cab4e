"""Configs that are valid key by key but cannot run as meant on this machine or budget are
refused through the real entry point, with one line each, before any folder is made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from convlab.runner.check.environment import available_cores, environment_problems
from tests.conftest import ROOT, compose_config

# Each case: train.py arguments, and what the one error line must say.
CASES = {
    "gpu trainer without cuda": (
        ["trainer=gpu"],
        "error: trainer.accelerator=gpu: no CUDA device visible",
    ),
    "cuda data without cuda": (
        ["data.device=cuda"],
        "error: data.device=cuda: no CUDA device visible",
    ),
    "more cpu processes than cores": (
        ["trainer=cpu", "trainer.devices={too_many}"],
        "error: trainer.devices={too_many}: {too_many} CPU processes on {cores} cores. Each "
        "process trains on its own 1/{too_many} of every epoch",
    ),
    "endless epochs with a cosine schedule": (
        ["experiment=max_regression", "trainer.max_epochs=-1"],
        "error: scheduler.T_max=${{trainer.max_epochs}} needs a finite training budget, but "
        "trainer.max_epochs=-1 (no limit)",
    ),
    "endless epochs in one job of a sweep": (
        ["-m", "experiment=max_regression", "trainer.max_epochs=2,-1"],
        "error: scheduler.T_max=${{trainer.max_epochs}} needs a finite training budget",
    ),
    "a plateau schedule with epochs left unvalidated": (
        [
            "experiment=lenet",
            "scheduler={{_target_:torch.optim.lr_scheduler.ReduceLROnPlateau,_partial_:true}}",
            "trainer.check_val_every_n_epoch=2",
        ],
        "error: scheduler=ReduceLROnPlateau steps on val/loss at every epoch's end, but "
        "trainer.check_val_every_n_epoch=2 leaves epochs without validation.",
    ),
}


def _fill(text: str) -> str:
    cores = available_cores()
    return text.format(too_many=cores + 1, cores=cores)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict]:
    """Every case through train.py in one interpreter (tests/cli_batch.py), CUDA hidden."""
    root = tmp_path_factory.mktemp("environment")
    cases = []
    for name, (args, _) in CASES.items():
        folders = [f"hydra.run.dir={root}/{name}/run", f"hydra.sweep.dir={root}/{name}/sweep"]
        cases.append(("train.py", [*map(_fill, args), *folders]))
    (root / "cases.json").write_text(json.dumps(cases))
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "cli_batch.py"), str(root / "cases.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = dict(zip(CASES, json.loads(done.stdout), strict=True))
    for name in CASES:
        outcome[name]["made"] = (root / name).exists()
    return outcome


@pytest.mark.parametrize("name", list(CASES))
def test_refused_before_anything_is_made(name, results):
    result = results[name]
    assert result["code"] == 2, result
    errors = [line for line in result["stderr"].splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result["stderr"]
    assert errors[0].startswith(_fill(CASES[name][1])), errors[0]
    assert "Traceback" not in result["stderr"]
    assert not result["made"]  # no run or sweep folder


def test_the_cases_that_fit_pass(tmp_path):
    cores = available_cores()
    fits = compose_config(["trainer=cpu", f"trainer.devices={cores}"], tmp_path)
    assert environment_problems(fits) == []
    budget = compose_config(["experiment=max_regression", "trainer.max_epochs=3"], tmp_path)
    assert environment_problems(budget) == []
    # -1 stays allowed where nothing reads the budget (LeNet has no schedule).
    endless = compose_config(["experiment=lenet", "trainer.max_epochs=-1"], tmp_path)
    assert environment_problems(endless) == []


def test_a_schedule_length_given_directly_must_be_positive(tmp_path):
    cfg = compose_config(["experiment=max_regression", "scheduler.T_max=0"], tmp_path)
    assert environment_problems(cfg) == [
        "scheduler.T_max=0: the schedule's length must be a positive number."
    ]


def test_machine_checks_wait_for_the_slurm_job(tmp_path, monkeypatch):
    """On the login node that submits to SLURM there is no GPU; the job's node has one."""
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    cfg = compose_config(["hydra/launcher=slurm", "trainer=gpu"], tmp_path)
    monkeypatch.setattr("convlab.runner.check.environment.cuda_devices", lambda: 0)
    assert environment_problems(cfg) == []
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    (problem,) = environment_problems(cfg)
    assert problem.startswith("trainer.accelerator=gpu: no CUDA device visible")


def test_devices_beyond_the_visible_gpus(tmp_path, monkeypatch):
    monkeypatch.setattr("convlab.runner.check.environment.cuda_devices", lambda: 1)
    cfg = compose_config(["trainer=ddp", "trainer.devices=4"], tmp_path)
    assert environment_problems(cfg) == [
        "trainer.devices=4: only 1 CUDA device(s) visible. Use trainer.devices=1 or fewer."
    ]


def test_checks_read_no_unresolvable_values(tmp_path: Path):
    """``paths.output_dir`` (${hydra:...}) and ``???`` values do not trip the checks."""
    cfg = compose_config(["trainer.devices=1"], tmp_path, config_name="eval")
    assert environment_problems(cfg) == []


# --- the machine checks on hand-written configs (no composition: fast) ---------------------
ENV = "convlab.runner.check.environment"


@pytest.fixture
def machine(monkeypatch):
    """No Hydra run, no CUDA, no MPS, 2 cores; returns the monkeypatch to change them."""
    from hydra.core.hydra_config import HydraConfig

    monkeypatch.setattr(HydraConfig.instance(), "cfg", None)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.setattr(f"{ENV}.cuda_devices", lambda: 0)
    monkeypatch.setattr(f"{ENV}._mps_available", lambda: False)
    monkeypatch.setattr(f"{ENV}.available_cores", lambda: 2)
    return monkeypatch


def _problems(**cfg):
    from omegaconf import OmegaConf

    return environment_problems(OmegaConf.create(cfg))


def test_a_cuda_data_device_without_cuda_is_named(machine):
    assert _problems(trainer={"accelerator": "cpu"}, data={"device": "cuda:0"}) == [
        "data.device=cuda:0: no CUDA device visible (torch.cuda.is_available() is False). Use "
        "trainer=cpu data.device=cpu here (trainer=default picks a GPU where there is one; "
        "trainer=ddp_sim simulates DDP on 2 CPU processes)."
    ]
    assert _problems(trainer={"accelerator": "cpu"}) == []  # no data section: the CPU


@pytest.mark.parametrize("devices", [3, "3", " 3 ", [0, 1, 2]])
def test_cpu_processes_are_counted_however_given_and_auto_means_the_cpu_here(machine, devices):
    (problem,) = _problems(trainer={"devices": devices})  # accelerator absent: auto
    assert problem.startswith("trainer.devices=3: 3 CPU processes on 2 cores.")


@pytest.mark.parametrize("devices", [True, "auto", 2, [0]])
def test_device_counts_that_fit_or_say_nothing_pass(machine, devices):
    assert _problems(trainer={"accelerator": "cpu", "devices": devices}) == []


def test_auto_on_a_mac_with_mps_is_left_to_lightning(machine):
    machine.setattr(f"{ENV}._mps_available", lambda: True)
    assert _problems(trainer={"accelerator": "auto", "devices": 8}) == []
    assert len(_problems(trainer={"accelerator": "cpu", "devices": 8})) == 1


def test_machine_probes(monkeypatch):
    import torch

    from convlab.runner.check import environment

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert environment.cuda_devices() == 0
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert environment.cuda_devices() == 3
    mps = getattr(torch.backends, "mps", None)
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: True)
        assert environment._mps_available() is True
        monkeypatch.setattr(mps, "is_available", lambda: False)
        assert environment._mps_available() is False
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)  # as on macOS
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert available_cores() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert available_cores() == 1


def test_a_local_submitit_launcher_runs_the_jobs_here(machine):
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    launcher = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.{}Launcher"
    gpu = {"trainer": {"accelerator": "gpu"}}
    for name, checked in (("Slurm", False), ("Local", True)):
        hydra = {"hydra": {"launcher": {"_target_": launcher.format(name)}}}
        machine.setattr(HydraConfig.instance(), "cfg", OmegaConf.create(hydra))
        assert bool(_problems(**gpu)) == checked, name


def test_budget_references_anywhere_but_hydra_need_a_finite_budget(machine):
    problems = _problems(
        hydra={"job": {"name": "${trainer.max_epochs}"}},  # first: the sections after it count
        trainer={"max_epochs": -1, "max_steps": -1},
        scheduler={"T_max": "${trainer.max_epochs}", "total_steps": 0, "total_iters": True},
        model={"sizes": [1, "${ trainer.max_steps }"], "n": "${trainer.max_epochs_x}"},
        seed=1,
    )
    assert problems == [
        "scheduler.T_max=${trainer.max_epochs} needs a finite training budget, but "
        "trainer.max_epochs=-1 (no limit) would make it -1. Set trainer.max_epochs to a positive "
        "number, or scheduler.T_max yourself.",
        "model.sizes[1]=${ trainer.max_steps } needs a finite training budget, but "
        "trainer.max_steps=-1 (no limit) would make it -1. Set trainer.max_steps to a positive "
        "number, or model.sizes[1] yourself.",
        "scheduler.total_steps=0: the schedule's length must be a positive number.",
    ]
    assert _problems(trainer={"max_epochs": 5}, scheduler={"T_max": "${trainer.max_epochs}"}) == []
    assert _problems(scheduler={"T_max": 1, "total_iters": -2}) == [
        "scheduler.total_iters=-2: the schedule's length must be a positive number."
    ]


def test_a_plateau_schedule_needs_validation_at_every_epoch_end(machine):
    plateau = {"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau", "_partial_": True}
    assert _problems(scheduler=plateau, trainer={"limit_val_batches": 0}) == [
        "scheduler=ReduceLROnPlateau steps on val/loss at every epoch's end, but "
        "trainer.limit_val_batches=0 validates no epoch. Set trainer.check_val_every_n_epoch=1 "
        "and trainer.limit_val_batches above 0, or choose another scheduler."
    ]
    assert _problems(scheduler=plateau, trainer={"check_val_every_n_epoch": 2}) == [
        "scheduler=ReduceLROnPlateau steps on val/loss at every epoch's end, but "
        "trainer.check_val_every_n_epoch=2 leaves epochs without validation. Set "
        "trainer.check_val_every_n_epoch=1 and trainer.limit_val_batches above 0, or choose "
        "another scheduler."
    ]
    both = _problems(model={"n": "${trainer.max_epochs}"}, scheduler=plateau,
                     trainer={"max_epochs": -1, "limit_val_batches": 0})  # fmt: skip
    firsts = [problem.split(" ")[0] for problem in both]
    assert firsts == ["model.n=${trainer.max_epochs}", "scheduler=ReduceLROnPlateau"]
    for validated in ({"check_val_every_n_epoch": 1, "limit_val_batches": 0.1}, {}):
        assert _problems(scheduler=plateau, trainer=validated) == [], validated
    cosine = {"_target_": "torch.optim.lr_scheduler.CosineAnnealingLR", "T_max": 2}
    assert _problems(scheduler=cosine, trainer={"check_val_every_n_epoch": 3}) == []


def test_device_count_edges(machine):
    assert _problems(trainer={"accelerator": "cpu", "devices": 0}) == [
        "trainer.devices=0: on the CPU, devices is a number of processes (>= 1); this machine "
        "has 2 cores."
    ]
    assert len(_problems(trainer={"accelerator": "cpu", "devices": -1})) == 1
    assert _problems(trainer={"accelerator": "mps", "devices": 8}) == []  # not the CPU's
    machine.setattr(f"{ENV}.cuda_devices", lambda: 2)
    assert _problems(trainer={"accelerator": "gpu", "devices": 2}) == []
    assert len(_problems(trainer={"accelerator": "gpu", "devices": 3})) == 1
