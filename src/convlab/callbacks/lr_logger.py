"""One ``train/lr`` scalar whatever the optimizer (Lightning's monitor names it ``lr-Adam``,
``lr-SGD``), so runs with different optimizers share one chart, at the step the rate was used
from. In the ``train`` group: TensorBoard orders its groups by name and opens the first two, and a
group of its own (``lr``) would come before ``test``, ``train`` and ``val``."""

import lightning as L
from lightning.pytorch.callbacks import Callback

INTERVALS = ("epoch", "step")


class LearningRateLogger(Callback):
    """``train/lr`` at every epoch start (``logging_interval: epoch``) or every
    ``log_every_n_steps`` optimizer steps (``step``); a second parameter group's rate as
    ``train/lr_group1``, and so on."""

    def __init__(self, logging_interval: str = "epoch") -> None:
        if logging_interval not in INTERVALS:
            raise ValueError(f"logging_interval must be one of {INTERVALS}, "
                             f"got {logging_interval!r}")  # fmt: skip
        self.logging_interval = logging_interval
        self._next_step = 0

    def _log(self, trainer: L.Trainer) -> None:
        if not trainer.loggers or not trainer.optimizers:
            return
        groups = trainer.optimizers[0].param_groups
        metrics = {f"train/lr_group{i}" if i else "train/lr": float(g["lr"])
                   for i, g in enumerate(groups)}  # fmt: skip
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._next_step = trainer.global_step

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.logging_interval == "epoch":
            self._log(trainer)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        # Several optimizer steps may pass per batch (manual optimisation): not a modulo.
        if self.logging_interval == "step" and trainer.global_step >= self._next_step:
            self._log(trainer)
            self._next_step = trainer.global_step + max(trainer.log_every_n_steps, 1)
