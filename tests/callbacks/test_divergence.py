"""A non-finite loss ends a run as "diverged": recorded, one console line, exit 0."""

import json
import math
from functools import partial
from types import SimpleNamespace

import lightning as L
import pytest
import torch

from convlab.callbacks.divergence import DivergenceGuard
from convlab.data.pairs import PairDataModule
from convlab.models.mlp import MLP
from convlab.tasks.regression import RegressionTask
from tests.conftest import run_script


def _diverging_fit(**trainer_args) -> tuple[L.Trainer, DivergenceGuard]:
    L.seed_everything(0)
    dm = PairDataModule(n_train=200, n_val=10, n_test=10, normalization="none")
    task = RegressionTask(MLP(width=8), partial(torch.optim.SGD, lr=1e6), **dm.task_facts())
    guard = DivergenceGuard()
    trainer = L.Trainer(
        max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[guard], **trainer_args,
    )  # fmt: skip
    trainer.fit(task, datamodule=dm)
    return trainer, guard


def test_guard_stops_at_the_first_non_finite_loss():
    trainer, guard = _diverging_fit()
    status = guard.run_status()
    assert status is not None and status["status"] == "diverged"
    # Stopped right after the bad step, in the first of 200-step epochs.
    assert trainer.global_step == status["diverged_at_step"] + 1 < 200
    assert not torch.isfinite(torch.tensor(guard.bad_loss))


def test_min_epochs_is_lightnings_to_honour_and_the_first_bad_step_stays_recorded():
    trainer, guard = _diverging_fit(min_epochs=2)
    assert trainer.global_step == 400  # the two epochs asked for, then the stop
    assert guard.run_status()["diverged_at_step"] < 200


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
    )  # fmt: skip
    guard = DivergenceGuard(check_every_n_steps=4)
    values = [1.0, 2.0, float("nan"), float("inf")]
    guard._pending = [(10, torch.tensor(values[:3])), (13, torch.tensor(values[3:]))]
    guard._check_pending(trainer)
    assert guard.run_status() == {"status": "diverged", "diverged_at_step": 12}
    assert trainer.should_stop


def _trainer(global_step=1, world_size=1, is_global_zero=True, other_rank=None):
    """The parts of a Trainer the guard reads and writes. Under DDP the guard gathers every
    rank's first bad ``(step, loss)``; ``other_rank`` is what another rank sends (its first bad
    step and loss, or ``None`` when all its losses were finite)."""
    sent = []

    def all_gather(tensor):
        sent.append(tensor.tolist())
        other = [math.inf, math.nan] if other_rank is None else list(other_rank)
        return torch.stack([tensor, torch.tensor(other, dtype=tensor.dtype)])

    return SimpleNamespace(
        global_step=global_step, world_size=world_size, is_global_zero=is_global_zero,
        should_stop=False, sent=sent,
        strategy=SimpleNamespace(all_gather=all_gather),
    )  # fmt: skip


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("as_dict", [False, True])
def test_every_non_finite_loss_stops_the_run(bad, as_dict):
    trainer, guard = _trainer(global_step=5), DivergenceGuard()
    loss = torch.tensor(bad)
    guard.on_train_batch_end(trainer, None, {"loss": loss} if as_dict else loss, None, 4)
    assert guard.run_status() == {"status": "diverged", "diverged_at_step": 4}
    assert str(guard.bad_loss) == str(bad)
    assert trainer.should_stop


def test_finite_losses_and_missing_losses_pass():
    trainer, guard = _trainer(global_step=3), DivergenceGuard()
    for outputs in (torch.tensor(1e30), {"loss": torch.tensor(-2.0)}, None, {"other": 1}):
        guard.on_train_batch_end(trainer, None, outputs, None, 0)
    assert guard.run_status() is None and not trainer.should_stop


def test_only_the_first_divergence_is_recorded():
    trainer, guard = _trainer(global_step=2), DivergenceGuard()
    guard.on_train_batch_end(trainer, None, torch.tensor(float("inf")), None, 1)
    trainer.global_step = 3
    guard.on_train_batch_end(trainer, None, torch.tensor(float("nan")), None, 2)
    assert guard.run_status()["diverged_at_step"] == 1 and guard.bad_loss == float("inf")


def test_batched_check_catches_an_infinite_loss_alone():
    trainer, guard = _trainer(), DivergenceGuard(check_every_n_steps=4)
    guard._pending = [(20, torch.tensor([1.0, float("inf"), 3.0]))]
    guard._check_pending(trainer)
    assert guard.run_status() == {"status": "diverged", "diverged_at_step": 21}
    assert guard.bad_loss == float("inf")


def test_grouped_steps_name_the_bad_step_of_the_group():
    """A batch of several optimizer steps returns one loss per step; the counter is past them."""
    trainer, guard = _trainer(global_step=30), DivergenceGuard()
    losses = torch.tensor([0.5] * 7 + [float("inf")] + [0.5] * 12)
    guard.on_train_batch_end(trainer, None, losses, None, 1)
    assert guard.run_status() == {"status": "diverged", "diverged_at_step": 17}


def test_losses_waiting_at_the_end_of_the_epoch_are_checked():
    """On an accelerator the losses wait for a full group; the epoch's end checks the rest."""
    trainer, guard = _trainer(), DivergenceGuard(check_every_n_steps=50)
    guard._pending = [(40, torch.tensor([1.0])), (41, torch.tensor([float("inf")]))]
    guard.on_train_epoch_end(trainer, None)
    assert guard.run_status() == {"status": "diverged", "diverged_at_step": 41}
    assert guard._pending == []
    guard.on_train_epoch_end(trainer, None)  # nothing left: no error, no change
    assert guard.run_status()["diverged_at_step"] == 41


def test_under_ddp_every_rank_stops_when_one_diverges():
    # This rank's losses are finite, another rank's loss of step 8 is not: all ranks stop and
    # name step 8 (not the last step of this rank's batch of three steps 7, 8, 9).
    trainer = _trainer(global_step=10, world_size=2, other_rank=(8, float("inf")))
    guard = DivergenceGuard()
    guard.on_train_batch_end(trainer, None, torch.tensor([0.3, 0.2, 0.1]), None, 7)
    assert trainer.sent == [[math.inf, pytest.approx(math.nan, nan_ok=True)]]
    assert guard.run_status() == {"status": "diverged", "diverged_at_step": 8}
    assert guard.bad_loss == float("inf")  # the other rank's loss, logged by rank zero
    assert trainer.should_stop


def test_under_ddp_the_ranks_name_the_earliest_bad_step_of_any_rank():
    for other, expected in (((5, float("-inf")), (5, float("-inf"))), ((9, 1.0), (7, math.nan))):
        trainer, guard = _trainer(global_step=10, world_size=2, other_rank=other), DivergenceGuard()
        losses = torch.tensor([0.4, float("nan"), float("inf"), 0.1])  # steps 6 to 9
        guard.on_train_batch_end(trainer, None, losses, None, 3)
        assert trainer.sent[0][0] == 7.0  # this rank's first bad step
        assert guard.run_status()["diverged_at_step"] == expected[0]
        assert str(guard.bad_loss) == str(expected[1])


def test_under_ddp_a_rank_tells_the_others_of_its_own_divergence():
    trainer, guard = _trainer(global_step=8, world_size=2), DivergenceGuard()
    guard.on_train_batch_end(trainer, None, torch.tensor(0.3), None, 7)
    assert trainer.sent[0][0] == math.inf and guard.run_status() is None
    assert not trainer.should_stop
    trainer.global_step = 9
    guard.on_train_batch_end(trainer, None, torch.tensor(float("inf")), None, 8)
    assert trainer.sent[-1] == [8.0, math.inf]
    assert guard.run_status() == {"status": "diverged", "diverged_at_step": 8}


def test_only_rank_zero_writes_the_warning(caplog):
    for rank_zero in (True, False):
        trainer = _trainer(global_step=5, world_size=1, is_global_zero=rank_zero)
        DivergenceGuard().on_train_batch_end(trainer, None, torch.tensor(float("inf")), None, 4)
    lines = [r.getMessage() for r in caplog.records if "diverged" in r.getMessage()]
    assert lines == ["diverged: training loss is inf at step 4; run stopped, recorded as diverged"]


def test_check_interval_must_be_positive():
    with pytest.raises(ValueError, match="check_every_n_steps must be >= 1, got 0"):
        DivergenceGuard(check_every_n_steps=0)
    assert DivergenceGuard(check_every_n_steps=1).check_every_n_steps == 1
    fresh = DivergenceGuard()
    assert (fresh.check_every_n_steps, fresh.bad_loss, fresh.run_status()) == (50, None, None)


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
    # Stopped early: at the end of the group of 100 steps (data.steps_per_batch) it happened in.
    assert record["diverged_at_step"] < record["steps"] <= record["diverged_at_step"] + 100
    console = result.stdout + result.stderr
    lines = [line for line in console.splitlines() if "diverged:" in line]
    assert len(lines) == 1 and f"at step {record['diverged_at_step']}" in lines[0]


def test_under_ddp_a_late_step_is_named_exactly():
    """The ranks exchange steps as float64: exact far past float32's 2**24."""
    step = 2**24 + 1
    trainer, guard = _trainer(global_step=step + 1, world_size=2), DivergenceGuard()
    guard.on_train_batch_end(trainer, None, torch.tensor(float("nan")), None, 0)
    assert guard.run_status()["diverged_at_step"] == step
