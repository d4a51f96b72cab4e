"""Grouped training batches (data.steps_per_batch): faster, and the same training."""

from functools import partial

import lightning as L
import pytest
import torch

from convlab.callbacks.divergence import DivergenceGuard
from convlab.data.pairs import PairDataModule
from convlab.data.step_groups import StepGroups
from convlab.data.tensor_loader import TensorLoader
from convlab.errors import ConvlabError
from convlab.models.mlp import MLP
from convlab.tasks.regression import RegressionTask


@pytest.mark.parametrize(("batch_size", "steps"), [(1, 7), (3, 4), (5, 1)])
def test_groups_hold_the_batches_of_the_plain_loader_in_order(batch_size, steps):
    x = torch.arange(23.0)
    plain = TensorLoader(x, -x, batch_size=batch_size, shuffle=True, seed=5)
    grouped = StepGroups(x, -x, batch_size=batch_size, steps=steps, shuffle=True, seed=5)
    for _ in range(2):  # two epochs: the per-epoch order is the plain loader's too
        groups = list(grouped)
        flat = [batch for group in groups for batch in group]
        expected = list(plain)
        assert len(flat) == len(expected)
        assert all(len(group) <= steps for group in groups)
        for (gx, gy), (px, py) in zip(flat, expected, strict=True):
            assert torch.equal(gx, px) and torch.equal(gy, py)
    assert len(grouped) == -(-len(expected) // steps)


def test_groups_resume_where_they_stopped():
    x = torch.arange(20.0)
    grouped = StepGroups(x, x, batch_size=2, steps=3, shuffle=True, seed=1)
    iterator = iter(grouped)
    next(iterator)
    state = grouped.state_dict()
    rest = [g[0][0].tolist() for g in iterator]
    resumed = StepGroups(x, x, batch_size=2, steps=3, shuffle=True, seed=1)
    resumed.load_state_dict(state)
    assert [g[0][0].tolist() for g in resumed] == rest


def _train(steps_per_batch, lr=1e-2, epochs=2, guard=None, **trainer_args):
    L.seed_everything(3)
    dm = PairDataModule(
        n_train=60, n_val=20, n_test=20, batch_size=1, steps_per_batch=steps_per_batch,
        shuffle_seed=0, normalization="none" if lr > 1 else "standard",
    )  # fmt: skip
    scheduler = partial(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    task = RegressionTask(
        MLP(width=8), partial(torch.optim.SGD if lr > 1 else torch.optim.Adam, lr=lr),
        scheduler=scheduler, **dm.task_facts(),
    )  # fmt: skip
    trainer = L.Trainer(
        max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        callbacks=[guard] if guard else [], **trainer_args,
    )  # fmt: skip
    trainer.fit(task, datamodule=dm)
    return task, trainer


def test_grouped_steps_train_exactly_like_one_step_per_batch():
    plain_task, plain = _train(steps_per_batch=1)
    grouped_task, grouped = _train(steps_per_batch=7)
    assert plain_task.automatic_optimization and not grouped_task.automatic_optimization
    assert plain.global_step == grouped.global_step == 120
    for a, b in zip(plain_task.parameters(), grouped_task.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    # The epoch-interval scheduler stepped once per epoch in both.
    lrs = [t.optimizers().param_groups[0]["lr"] for t in (plain_task, grouped_task)]
    assert lrs == [pytest.approx(1e-2 / 4)] * 2
    for name in ("train/loss", "train/mae", "val/mae"):
        expected = float(plain.callback_metrics[name])
        assert float(grouped.callback_metrics[name]) == pytest.approx(expected, rel=1e-5)


class StepHookCounter(L.Callback):
    """Overrides ``on_before_optimizer_step``: grouped steps must then call it at every step."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bool]] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        grads = all(p.grad is not None for p in pl_module.parameters())
        self.calls.append((trainer.global_step, grads))


def test_grouped_steps_skip_lightnings_optimizer_step_only_when_no_one_hooks_it(monkeypatch):
    from lightning.pytorch.plugins.precision import Precision

    through_lightning = []
    original = Precision.optimizer_step

    def spy(self, *args, **kwargs):
        through_lightning.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Precision, "optimizer_step", spy)
    _, trainer = _train(steps_per_batch=7)
    assert trainer.global_step == 120 and through_lightning == []
    counter = StepHookCounter()
    _, trainer = _train(steps_per_batch=7, guard=counter)
    assert len(through_lightning) == trainer.global_step == 120
    # Once per step, before the step (global_step not yet counted), with the gradients set.
    assert counter.calls == [(step, True) for step in range(120)]


def test_max_steps_stops_inside_a_group():
    _, trainer = _train(steps_per_batch=10, max_steps=15)
    assert trainer.global_step == 15


def test_divergence_is_found_at_the_same_step_inside_a_group():
    steps = {}
    for k in (1, 9):
        guard = DivergenceGuard()
        _train(steps_per_batch=k, lr=1e6, guard=guard)
        steps[k] = guard.run_status()["diverged_at_step"]
    assert steps[1] == steps[9]


def test_classification_cannot_group_steps():
    with pytest.raises(ConvlabError, match="steps_per_batch"):
        PairDataModule(target="classification", steps_per_batch=10)


def test_steps_must_be_positive_and_the_loader_arguments_pass_through():
    x = torch.arange(10.0)
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        StepGroups(x, batch_size=2, steps=0)
    grouped = StepGroups(x, batch_size=2, steps=3, rank=1, world_size=2, drop_last=True)
    assert (grouped.step_size, grouped.steps) == (2, 3)
    assert grouped.sampler is grouped  # what Lightning calls set_epoch on
    assert grouped.batch_size == 6 and grouped.drop_last
    assert (grouped.rank, grouped.world_size) == (1, 2)
    assert len(grouped) == 0  # 5 samples on rank 1, fewer than one group of 6
    plain = StepGroups(x, batch_size=2, steps=3)
    assert len(plain) == 2
    assert [[b[0].tolist() for b in g] for g in plain] == [
        [[0, 1], [2, 3], [4, 5]],
        [[6, 7], [8, 9]],
    ]


def test_a_group_whose_tensors_split_unevenly_is_an_error(monkeypatch):
    grouped = StepGroups(torch.arange(4.0), batch_size=2, steps=2)
    uneven = (torch.arange(4.0), torch.arange(6.0))  # never from a TensorLoader
    monkeypatch.setattr(TensorLoader, "_take", lambda self, order, lo, hi: uneven)
    with pytest.raises(ValueError, match="zip"):
        list(grouped)


def test_set_epoch_and_state_count_groups():
    x = torch.arange(12.0)
    grouped = StepGroups(x, batch_size=2, steps=2, shuffle=True, seed=4)
    grouped.sampler.set_epoch(2)
    plain = TensorLoader(x, batch_size=4, shuffle=True, seed=4)
    plain.set_epoch(2)
    assert [torch.cat([b[0] for b in g]).tolist() for g in grouped] == [
        b[0].tolist() for b in plain
    ]
    assert grouped.state_dict() == {"epoch": 2, "batches_yielded": 3}
    grouped.load_state_dict({"epoch": 5, "batches_yielded": 1})
    assert grouped.epoch == 5 and grouped._resume_batches == 1
