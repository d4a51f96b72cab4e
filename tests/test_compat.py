"""The private Lightning names in ``convlab.compat``: each test fails when Lightning moves one."""

import importlib.util
from functools import partial
from typing import ClassVar

import lightning as L
import torch

from convlab import compat
from convlab.data.pairs import PairDataModule
from convlab.models.mlp import MLP
from convlab.tasks.regression import RegressionTask


def _fit(task, dm, **trainer_args) -> L.Trainer:
    trainer = L.Trainer(
        max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, **trainer_args,
    )  # fmt: skip
    trainer.fit(task, datamodule=dm)
    return trainer


class HookNames(compat.FastHookName, L.LightningModule):
    seen: ClassVar[list[str]] = []  # from the first write, in LightningModule.__init__

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def __setattr__(self, name, value) -> None:
        if name == compat.HOOK_NAME:
            self.seen.append(value)
        super().__setattr__(name, value)

    def training_step(self, batch, batch_idx):
        assert vars(self)[compat.HOOK_NAME] == "training_step"
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_lightning_still_names_the_running_hook_in_the_attribute_the_bypass_skips():
    dm = PairDataModule(n_train=8, n_val=4, n_test=4, batch_size=4)
    module = HookNames()
    _fit(module, dm, limit_val_batches=0)
    assert "training_step" in module.seen and "on_train_batch_end" in module.seen


def test_counted_steps_advance_global_step_and_the_weights():
    dm = PairDataModule(n_train=12, n_val=4, n_test=4, batch_size=2, steps_per_batch=3)
    task = RegressionTask(MLP(width=4), partial(torch.optim.SGD, lr=0.01), **dm.task_facts())
    before = [p.detach().clone() for p in task.parameters()]
    trainer = _fit(task, dm, limit_val_batches=0)
    assert trainer.global_step == 6  # 2 trainer batches of 3 optimizer steps each
    assert all(not torch.equal(a, b) for a, b in zip(before, task.parameters(), strict=True))


def test_the_module_lightning_warns_from_is_still_there():
    assert importlib.util.find_spec(compat.PYTREE_MODULE) is not None
