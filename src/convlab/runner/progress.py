"""Epoch and step counts that survive ``ddp_spawn``.

Under a spawn strategy the workers train, and the main process's ``Trainer`` keeps
``global_step == 0``; only ``callback_metrics`` travel back. Logging the counts as metrics
(not to the loggers) lets the run record report them whatever the strategy.
"""

from __future__ import annotations

import lightning as L

STEPS_KEY, EPOCHS_KEY = "progress/steps", "progress/epochs"


class RunProgress(L.Callback):
    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module.log(STEPS_KEY, float(trainer.global_step), logger=False, sync_dist=False)
        pl_module.log(EPOCHS_KEY, float(trainer.current_epoch + 1), logger=False, sync_dist=False)


def progress_counts(trainer: L.Trainer) -> tuple[int, int]:
    """(epochs, steps): the trainer's own counts, or the logged ones where those stayed 0."""
    steps, epochs = trainer.global_step, trainer.current_epoch
    logged = trainer.callback_metrics
    if steps == 0 and STEPS_KEY in logged:
        steps = int(logged[STEPS_KEY])
    if epochs == 0 and EPOCHS_KEY in logged:
        epochs = int(logged[EPOCHS_KEY])
    return epochs, steps
