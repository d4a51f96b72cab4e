"""EpochTimer: whole epochs (work between epochs included) and their training part."""

import time
from functools import partial

import lightning as L
import pytest
import torch

from convlab.callbacks.epoch_timer import EpochTimer
from convlab.data.pairs import PairDataModule
from convlab.models.mlp import MLP
from convlab.tasks.regression import RegressionTask


class SlowEpochEnd(L.Callback):
    """Work after the timer's own epoch-end hook, as checkpoints and figures are."""

    def on_train_epoch_end(self, trainer, pl_module):
        time.sleep(0.2)


class SlowValidation(L.Callback):
    def on_validation_epoch_end(self, trainer, pl_module):
        if not trainer.sanity_checking:
            time.sleep(0.1)


def test_epoch_durations_count_the_work_between_epochs_and_train_time_excludes_validation():
    timer = EpochTimer()
    dm = PairDataModule(n_train=40, n_val=10, n_test=10, batch_size=4)
    task = RegressionTask(MLP(width=4), partial(torch.optim.SGD, lr=0.01), **dm.task_facts())
    trainer = L.Trainer(
        max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
        callbacks=[timer, SlowEpochEnd(), SlowValidation()],
    )  # fmt: skip
    trainer.fit(task, datamodule=dm)
    extras = timer.record_extras()
    assert len(extras["epoch_durations_s"]) == len(extras["epoch_train_s"]) == 2
    for whole, train in zip(extras["epoch_durations_s"], extras["epoch_train_s"], strict=True):
        assert whole >= train + 0.3  # the 0.2 s after the epoch's end and the 0.1 s validation
        assert train < 0.2
    assert extras["train_examples_per_s"][0] == pytest.approx(40 / extras["epoch_train_s"][0],
                                                              rel=0.01)  # fmt: skip
