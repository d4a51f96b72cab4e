"""Every logged scalar at the optimizer step it belongs to, and no ``epoch`` series.

Lightning writes a metric at ``_batches_that_stepped`` (trainer batches) and adds an ``epoch``
scalar beside it, unless a ``step`` metric is logged: then that is the x value and no ``epoch`` is
added (``LoggerConnector.log_metrics``). The two counts differ under manual optimisation with
several optimizer steps per trainer batch (``max_regression``'s ``steps_per_batch: 100``): its
curves would end at step 10 where ``metrics.json`` says 1000. This callback logs ``step`` =
``trainer.global_step`` (optimizer steps) with every write, so all loggers and ``metrics.json``
count alike.
"""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import Callback


def step_metrics_due(trainer: L.Trainer) -> bool:
    """Whether Lightning writes this training batch's ``on_step`` metrics to the loggers.

    Lightning's own test (every ``log_every_n_steps`` trainer batches) is private; it is read in
    this one place, and without it the step is logged at every batch (correct, a little slower).
    """
    due = getattr(getattr(trainer, "_logger_connector", None), "should_update_logs", None)
    return True if due is None else bool(due)


class OptimizerStepAxis(Callback):
    """Log ``step`` (the optimizer step count) wherever metrics reach the loggers: the training
    batches Lightning writes, and the ends of the training, validation and test epochs."""

    def _log(self, pl_module: L.LightningModule, trainer: L.Trainer, on_step: bool) -> None:
        # Every rank has the same global_step: no sync (a synced value would be reduced when
        # rank 0's progress bar reads it, on rank 0 alone, and hang the other ranks).
        pl_module.log(
            "step", float(trainer.global_step), on_step=on_step, on_epoch=not on_step,
            reduce_fx="max", logger=True, prog_bar=False,
        )  # fmt: skip

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if step_metrics_due(trainer):
            self._log(pl_module, trainer, on_step=True)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(pl_module, trainer, on_step=False)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._log(pl_module, trainer, on_step=False)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(pl_module, trainer, on_step=False)
