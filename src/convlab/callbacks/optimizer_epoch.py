"""Tells optimizers whose update depends on the epoch (``AdamThenSGD``) which epoch it is."""

import lightning as L


class OptimizerEpoch(L.Callback):
    """``set_epoch(trainer.current_epoch)`` on every optimizer that has it, at each epoch start:
    Lightning restores ``current_epoch`` before this hook, so a resumed run agrees too."""

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for optimizer in trainer.optimizers:
            if callable(set_epoch := getattr(optimizer, "set_epoch", None)):
                set_epoch(trainer.current_epoch)
