"""What members=K refuses, one line each, before anything is built."""

from __future__ import annotations

import time

import pytest
from hydra.types import RunMode
from omegaconf import OmegaConf, open_dict

from convlab.members import check
from convlab.members.check import members_problems
from convlab.runner.check.validate import find_problems as find_all
from tests.conftest import compose_config, run_script


def find_problems(cfg):
    """The config check as a run makes it: members contributes its own refusals."""
    return find_all(cfg, extra_checks=[members_problems])


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        (["trainer.gradient_clip_val=1.0"], "trainer.gradient_clip_val clips by the norm"),
        (["callbacks=early_stopping"], "early stopping would stop every member"),
        (["optimizer._target_=torch.optim.LBFGS"], "is not known to act on each parameter"),
        (["+trainer.accumulate_grad_batches=2"], "accumulate_grad_batches is not available"),
        (["seed=null"], "needs a seed"),
        (["model=residual_mlp"], "cannot be stacked"),
        (["sweep=max_batch_size", "seed=1"], "callbacks.sharpness reads the net as one model"),
        (["optimized_metric=val/mae"], "a search optimises one run's metric"),
    ],
)
def test_coupling_settings_are_refused(overrides, problem, tmp_path):
    cfg = compose_config(["experiment=max_regression", "members=4", *overrides], tmp_path)
    problems = [p for p in find_problems(cfg) if p.startswith("members=4")]
    assert len(problems) == 1 and problem in problems[0], problems


def test_other_families_are_refused(tmp_path):
    cfg = compose_config(["experiment=lenet", "members=2"], tmp_path)
    assert "members=2 stacks the max(a, b) runs only (data=pairs)." in find_problems(cfg)


@pytest.mark.parametrize(
    "experiment", ["max_regression", "max_classification", "max_gated", "max_exact"]
)
def test_the_max_experiments_stack_as_shipped(experiment, tmp_path):
    cfg = compose_config([f"experiment={experiment}", "members=8"], tmp_path)
    assert not [p for p in find_problems(cfg) if "members" in p]


@pytest.mark.parametrize(("value", "problem"), [(0, "must be a positive integer"),
                                                ("two", "expected an integer")])  # fmt: skip
def test_members_must_be_a_positive_integer(value, problem, tmp_path):
    cfg = compose_config(["experiment=max_regression", f"members={value}"], tmp_path)
    assert any(p.startswith(f"members={value}") and problem in p for p in find_problems(cfg))


@pytest.mark.parametrize(("seeds", "refused"), [("1,2,3", True), ("1,11,21", False), ("5", False)])
def test_swept_seeds_closer_than_members_are_refused(seeds, refused, tmp_path):
    cfg = compose_config(["experiment=max_regression", "members=10"], tmp_path)
    OmegaConf.set_readonly(cfg.hydra, False)
    with open_dict(cfg):  # the sweep's base config of `-m ... seed=<seeds>`
        cfg.hydra.mode = RunMode.MULTIRUN
        cfg.hydra.overrides.task = ["members=10", f"seed={seeds}"]
    problems = [p for p in find_problems(cfg) if "trains some seeds twice" in p]
    assert bool(problems) == refused, problems


def test_a_sweeps_base_config_leaves_the_jobs_to_their_own_check(tmp_path):
    """``-m sweep=max_tasks`` sweeps the experiment: its base config is still LeNet's."""
    cfg = compose_config(["members=10"], tmp_path)
    OmegaConf.set_readonly(cfg.hydra, False)
    with open_dict(cfg):
        cfg.hydra.mode = RunMode.MULTIRUN
    assert not [p for p in find_problems(cfg) if "members" in p]


def test_more_members_than_the_memory_holds_are_refused_in_one_line(tmp_path, monkeypatch):
    # The memory is fixed here so the numbers do not depend on the machine.
    monkeypatch.setattr(check, "_free_memory", lambda cfg: (16 * 10**9, "memory available"))
    cfg = compose_config(["experiment=max_regression", "members=100000"], tmp_path)
    assert [p for p in find_problems(cfg) if p.startswith("members=")] == [
        "members=100000 needs about 72.0 GB (4,417 parameters a member with their gradients, "
        "optimizer state and best values, evaluation batches of 1,000 through 64 units), more "
        "than the 16.0 GB of memory available: members=22236 or fewer fit."
    ]
    fits = compose_config(["experiment=max_regression", "members=22236"], tmp_path)
    assert not [p for p in find_problems(fits) if p.startswith("members=")]


def test_train_py_refuses_too_many_members_before_any_folder(tmp_path):
    started = time.perf_counter()
    result = run_script(["experiment=max_regression", "members=100000000",
                         f"hydra.run.dir={tmp_path / 'run'}"], timeout=60)  # fmt: skip
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith("error: members=100000000 needs about 71,954.0 GB (4,417 parameters")
    assert line.endswith("or fewer fit.")
    assert not (tmp_path / "run").exists()
    assert time.perf_counter() - started < 30  # members=100000 used to build nets for minutes
