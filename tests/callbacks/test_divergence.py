"""A non-finite loss ends a run as "diverged": recorded, one console line, exit 0."""

import json
from functools import partial
from types import SimpleNamespace

import lightning as L
import torch

from convlab.callbacks.divergence import DivergenceGuard
from convlab.data.pairs import PairDataModule
from convlab.models.mlp import MLP
from convlab.tasks.regression import RegressionTask
from tests.conftest import run_script


def test_guard_stops_at_the_first_non_finite_loss_even_before_min_epochs():
    L.seed_everything(0)
    dm = PairDataModule(n_train=200, n_val=10, n_test=10, normalization="none")
    task = RegressionTask(MLP(width=8), partial(torch.optim.SGD, lr=1e6), **dm.task_facts())
    guard = DivergenceGuard()
    trainer = L.Trainer(
        max_epochs=3, min_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[guard],
    )  # fmt: skip
    trainer.fit(task, datamodule=dm)
    status = guard.run_status()
    assert status is not None and status["status"] == "diverged"
    # Stopped right after the bad step, not at the end of min_epochs.
    assert trainer.global_step == status["diverged_at_step"] + 1 < 200
    assert not torch.isfinite(torch.tensor(guard.bad_loss))


def test_guard_stays_silent_on_a_healthy_run():
    guard = DivergenceGuard()
    dm = PairDataModule(n_train=20, n_val=10, n_test=10, batch_size=4)
    task = RegressionTask(MLP(width=4), partial(torch.optim.Adam), **dm.task_facts())
    trainer = L.Trainer(
        max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[guard],
    )  # fmt: skip
    trainer.fit(task, datamodule=dm)
    assert guard.run_status() is None and trainer.global_step == 5


def test_batched_check_reports_the_exact_step():
    """The accelerator path: losses of several steps checked at once, the first bad one named."""
    trainer = SimpleNamespace(
        world_size=1, is_global_zero=True, should_stop=False,
        fit_loop=SimpleNamespace(min_epochs=1, epoch_loop=SimpleNamespace(min_steps=None)),
    )  # fmt: skip
    guard = DivergenceGuard(check_every_n_steps=4)
    values = [1.0, 2.0, float("nan"), float("inf")]
    guard._pending = [(10, torch.tensor(values[:3])), (13, torch.tensor(values[3:]))]
    guard._check_pending(trainer)
    assert guard.run_status() == {"status": "diverged", "diverged_at_step": 12}
    assert trainer.should_stop and trainer.fit_loop.min_epochs == 0


def test_diverging_run_exits_0_and_records_the_step(tmp_path):
    # Raw inputs up to 20000 and SGD at lr 1e6: the loss overflows within a few steps.
    result = run_script([
        "experiment=max_regression", "data.normalization=none", "optimizer=sgd",
        "optimizer.lr=1e6", "logger=none", f"hydra.run.dir={tmp_path}",
    ])  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["status"] == "diverged"
    assert isinstance(record["diverged_at_step"], int) and record["diverged_at_step"] < 10
    # Stopped early: at the end of the group of 20 steps (data.steps_per_batch) it happened in.
    assert record["diverged_at_step"] < record["steps"] <= record["diverged_at_step"] + 20
    console = result.stdout + result.stderr
    lines = [line for line in console.splitlines() if "diverged:" in line]
    assert len(lines) == 1 and f"at step {record['diverged_at_step']}" in lines[0]
