"""Every write to the loggers carries ``step`` (optimizer steps): no ``epoch`` series, and the
batch-loss curve where Lightning writes it, under grouped steps too."""

from functools import partial

import lightning as L
import torch
from lightning.pytorch.loggers import Logger

from convlab.callbacks.step_axis import OptimizerStepAxis
from convlab.data.pairs import PairDataModule
from convlab.models.mlp import MLP
from convlab.tasks.regression import RegressionTask


class Recorder(Logger):
    name, version = "recorder", 0

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[dict, int]] = []

    def log_metrics(self, metrics, step=None) -> None:
        self.writes.append((dict(metrics), step))

    def log_hyperparams(self, *args, **kwargs) -> None:
        pass


def test_every_write_is_at_the_optimizer_step_and_batch_losses_follow_log_every_n_steps():
    # 5 trainer batches an epoch of 2 optimizer steps each; Lightning writes every 3rd batch.
    dm = PairDataModule(n_train=20, n_val=4, n_test=4, batch_size=2, steps_per_batch=2)
    task = RegressionTask(MLP(width=4), partial(torch.optim.SGD, lr=0.01), **dm.task_facts())
    recorder = Recorder()
    trainer = L.Trainer(
        max_epochs=2, accelerator="cpu", logger=recorder, log_every_n_steps=3,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[OptimizerStepAxis()], num_sanity_val_steps=0,
    )  # fmt: skip
    trainer.fit(task, datamodule=dm)
    assert recorder.writes and all("epoch" not in metrics for metrics, _ in recorder.writes)
    batch_loss_steps = [step for metrics, step in recorder.writes if "train/batch_loss" in metrics]
    assert batch_loss_steps == [6, 12, 18]  # trainer batches 3, 6 and 9, the second epoch's too
    assert [s for m, s in recorder.writes if "val/loss" in m] == [10, 20]
