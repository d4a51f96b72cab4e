"""Ctrl-C and SIGTERM through ``ResumableCheckpoint``: Lightning's graceful stop, before any
minimum, with ``last.ckpt`` saved at the step that was running."""

import os
import signal
from functools import partial

import lightning as L
import pytest
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from convlab.callbacks.checkpoint import ResumableCheckpoint
from convlab.data.pairs import PairDataModule
from convlab.models.mlp import MLP
from convlab.tasks.regression import RegressionTask


class SignalAt(L.Callback):
    def __init__(self, step: int, signum: int) -> None:
        self.step, self.signum = step, signum

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_comes_after_the_running_step_even_before_min_epochs(tmp_path, signum):
    dm = PairDataModule(n_train=40, n_val=8, n_test=8, batch_size=4)
    task = RegressionTask(MLP(width=4), partial(torch.optim.SGD, lr=0.01), **dm.task_facts())
    checkpoint = ResumableCheckpoint(dirpath=tmp_path, save_last=True, save_top_k=0)
    trainer = L.Trainer(
        max_epochs=3, min_epochs=2, accelerator="cpu", logger=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[checkpoint, SignalAt(3, signum)],
    )  # fmt: skip
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(SIGTERMException):
        trainer.fit(task, datamodule=dm)
    ctrl_c = {"status": "interrupted", "stopped_at": [0, 4]}  # SIGTERM: the runner's to say
    assert checkpoint.run_status() == (ctrl_c if signum == signal.SIGINT else None)
    assert torch.load(tmp_path / "last.ckpt", weights_only=True)["global_step"] == 4
    assert sorted(os.listdir(tmp_path)) == ["last.ckpt"]
    assert signal.getsignal(signal.SIGINT) == before
