"""Grouped steps (manual optimization) step every kind of scheduler (ReduceLROnPlateau on the
validation loss) as Lightning's automatic optimization does, and run the backward hooks only
where Lightning's backward is needed."""

from functools import partial

import lightning as L
import pytest
import torch

from convlab.data.pairs import PairDataModule
from convlab.models.mlp import MLP
from convlab.tasks.regression import RegressionTask


class ScheduledTask(RegressionTask):
    """A RegressionTask with a scheduler configuration the configs cannot express."""

    def __init__(self, lr_schedulers: list[dict], **kwargs) -> None:
        super().__init__(**kwargs)
        self.lr_schedulers_given = lr_schedulers

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        configs = [
            {**config, "scheduler": config["scheduler"](optimizer)}
            for config in self.lr_schedulers_given
        ]
        return [optimizer], configs


class EpochLRs(L.Callback):
    """The learning rate each epoch starts with, and the last one."""

    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.lrs.append(pl_module.optimizers().param_groups[0]["lr"])

    def on_train_end(self, trainer, pl_module) -> None:
        self.lrs.append(pl_module.optimizers().param_groups[0]["lr"])


STEP_LR = partial(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
CASES = {
    # name: (lr_schedulers, epochs, lr at the start of each epoch and at the end);
    # 12 optimizer steps an epoch (60 pairs, batches of 5).
    "every 5th step": (
        [{"scheduler": STEP_LR, "interval": "step", "frequency": 5}],
        2,
        [1, 0.5**2, 0.5**4],
    ),
    "every step": ([{"scheduler": STEP_LR, "interval": "step"}], 2, [1, 0.5**12, 0.5**24]),
    "every 3rd epoch": (
        [{"scheduler": STEP_LR, "interval": "epoch", "frequency": 3}],
        3,
        [1, 1, 1, 0.5],
    ),
    # An epoch scheduler first: the step scheduler after it still steps.
    "epoch and step": (
        [{"scheduler": STEP_LR}, {"scheduler": STEP_LR, "interval": "step", "frequency": 12}],
        2,
        [1, 0.25, 0.5**4],
    ),
}


def _train(
    lr_schedulers,
    steps_per_batch,
    epochs=2,
    precision="32-true",
    callbacks=(),
    task_class=ScheduledTask,
    **trainer_args,
):
    L.seed_everything(2)
    dm = PairDataModule(
        n_train=60, n_val=10, n_test=10, batch_size=5, steps_per_batch=steps_per_batch,
        shuffle_seed=0,
    )  # fmt: skip
    task = task_class(
        lr_schedulers, net=MLP(width=4), optimizer=partial(torch.optim.SGD, lr=0.1),
        **dm.task_facts(),
    )  # fmt: skip
    trainer = L.Trainer(
        max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        precision=precision, callbacks=list(callbacks), **{"limit_val_batches": 0, **trainer_args},
    )  # fmt: skip
    trainer.fit(task, datamodule=dm)
    return task, trainer


@pytest.mark.parametrize("case", sorted(CASES))
def test_grouped_steps_step_the_scheduler_as_automatic_optimization_does(case):
    configs, epochs, factors = CASES[case]
    for steps in (1, 4):
        lrs = EpochLRs()
        task, trainer = _train(configs, steps, epochs=epochs, callbacks=[lrs])
        assert trainer.global_step == 12 * epochs
        assert task.automatic_optimization == (steps == 1)
        assert lrs.lrs == pytest.approx([0.1 * f for f in factors]), steps


class BackwardHooks(L.Callback):
    def __init__(self) -> None:
        self.calls = 0

    def on_after_backward(self, trainer, pl_module) -> None:
        self.calls += 1


@pytest.mark.parametrize(
    ("steps_per_batch", "precision", "calls"),
    [
        (1, "32-true", 12),  # automatic optimization: Lightning's backward
        (2, "32-true", 0),  # grouped on one device at full precision: a plain backward
        (2, "64-true", 0),
        (2, "bf16-mixed", 12),  # mixed precision needs Lightning's
    ],
)
def test_grouped_steps_skip_the_backward_hooks_only_where_lightning_adds_nothing(
    steps_per_batch, precision, calls
):
    hooks = BackwardHooks()
    task, trainer = _train([{"scheduler": STEP_LR}], steps_per_batch, epochs=1, precision=precision,
                           callbacks=[hooks])  # fmt: skip
    assert trainer.global_step == 12
    assert hooks.calls == calls
    # Trained: the backward pass ran either way.
    assert task.optimizers().param_groups[0]["lr"] == pytest.approx(0.05)
    assert all(p.grad is not None for p in task.net.parameters())


class StepLosses(L.Callback):
    def __init__(self) -> None:
        self.counts: list[int] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs  # manual: a dict
        self.counts.append(loss.numel())


def test_a_group_returns_one_loss_per_step_taken_even_when_max_steps_cuts_it():
    losses = StepLosses()
    _, trainer = _train([{"scheduler": STEP_LR}], 4, epochs=1, callbacks=[losses], max_steps=10)
    assert trainer.global_step == 10
    assert losses.counts == [4, 4, 2]  # the divergence guard reads every step's loss


class OptimizerStepHooks(L.Callback):
    def __init__(self) -> None:
        self.calls = 0

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.calls += 1


class HookedTask(ScheduledTask):
    calls = 0

    def on_before_optimizer_step(self, optimizer) -> None:
        self.calls += 1


def test_grouped_steps_call_every_on_before_optimizer_step_hook():
    """Where the task or a callback overrides it, grouped steps go through Lightning's step."""
    hooks = OptimizerStepHooks()
    _, trainer = _train([{"scheduler": STEP_LR}], 2, epochs=1, callbacks=[hooks])
    assert trainer.global_step == 12 and hooks.calls == 12
    task, trainer = _train([{"scheduler": STEP_LR}], 2, epochs=1, task_class=HookedTask)
    assert trainer.global_step == 12 and task.calls == 12


class PlateauTask(RegressionTask):
    """The configs' path: ``scheduler`` is a factory, ``configure_optimizers`` the task's own."""

    def __init__(self, scheduler, **kwargs) -> None:
        super().__init__(scheduler=scheduler, **kwargs)


class ValidationLosses(L.Callback):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.losses.append(float(trainer.callback_metrics["val/loss"]))


@pytest.mark.parametrize("steps_per_batch", [1, 4])
def test_reduce_on_plateau_steps_on_the_validation_loss(steps_per_batch, recwarn):
    """Automatic optimization is told the metric; grouped steps read the same one (and Lightning
    is not handed a monitor it would drop with a warning)."""
    # threshold=1: no epoch counts as better, so with patience 0 every epoch's end halves the lr.
    always = partial(torch.optim.lr_scheduler.ReduceLROnPlateau, factor=0.5, patience=0,
                     threshold=1)  # fmt: skip
    lrs = EpochLRs()
    task, _ = _train(always, steps_per_batch, epochs=3, callbacks=[lrs], task_class=PlateauTask,
                     limit_val_batches=1.0)  # fmt: skip
    assert lrs.lrs == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    # At its defaults it keeps the best validation loss it was given.
    losses = ValidationLosses()
    task, _ = _train(torch.optim.lr_scheduler.ReduceLROnPlateau, steps_per_batch, epochs=3,
                     callbacks=[losses], task_class=PlateauTask,
                     limit_val_batches=1.0)  # fmt: skip
    scheduler = task.lr_schedulers()
    assert len(losses.losses) == 3 and scheduler.last_epoch == 3
    assert scheduler.best == pytest.approx(min(losses.losses))
    assert not [w for w in recwarn if "will be ignored" in str(w.message)]


def test_reduce_on_plateau_without_a_validation_loss_is_named():
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau
    with pytest.raises(RuntimeError, match=r"ReduceLROnPlateau steps on val/loss .* no validation"):
        _train(plateau, 4, epochs=1, task_class=PlateauTask)
