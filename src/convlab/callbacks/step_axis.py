"""Every logged scalar at its optimizer step, and no ``epoch`` series.

Lightning's x value is its count of trainer batches (plus an ``epoch`` scalar) unless a ``step``
metric is logged: with ``steps_per_batch: 100`` the curves would end at step 10 where
``metrics.json`` says 1000, so ``step`` = ``trainer.global_step`` goes with every write.
"""

import math

import lightning as L
from lightning.pytorch.callbacks import Callback


def step_metrics_due(trainer: L.Trainer, batch_idx: int) -> bool:
    """Whether Lightning writes this batch's ``on_step`` metrics: every ``log_every_n_steps``
    batches of the run (it counts those that step: all, as no config accumulates gradients),
    and where training stops."""
    every = trainer.log_every_n_steps
    if not every:
        return False
    per_epoch = trainer.num_training_batches
    done = batch_idx + 1 + (trainer.current_epoch * per_epoch if math.isfinite(per_epoch) else 0)
    return done % every == 0 or trainer.should_stop


def batch_loss_due(trainer: L.Trainer, batch_idx: int, steps_in_batch: int) -> bool:
    """Whether ``train/batch_loss`` is written for this batch: where step metrics are, unless the
    epoch is one optimizer step (its batch loss is the epoch's ``train/loss``)."""
    one_step_epochs = trainer.num_training_batches == 1 and steps_in_batch == 1
    return step_metrics_due(trainer, batch_idx) and not one_step_epochs


class OptimizerStepAxis(Callback):
    """``step`` wherever metrics reach the loggers: the training batches Lightning writes and
    the ends of the training, validation and test epochs."""

    def _log(self, pl_module: L.LightningModule, trainer: L.Trainer, on_step: bool) -> None:
        # Every rank has the same global_step: no sync (a synced value would be reduced when
        # rank 0's progress bar reads it, on rank 0 alone, and hang the other ranks).
        pl_module.log("step", float(trainer.global_step), on_step=on_step, on_epoch=not on_step,
                      reduce_fx="max", logger=True)  # fmt: skip

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if step_metrics_due(trainer, batch_idx):
            self._log(pl_module, trainer, on_step=True)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(pl_module, trainer, on_step=False)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._log(pl_module, trainer, on_step=False)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(pl_module, trainer, on_step=False)
