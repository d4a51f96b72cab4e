"""Tells optimizers whose update depends on the epoch (``AdamThenSGD``) which epoch it is."""

from __future__ import annotations

import lightning as L


class OptimizerEpoch(L.Callback):
    """Calls ``set_epoch(trainer.current_epoch)`` on every optimizer that has it, at the start
    of each training epoch.

    Lightning restores ``current_epoch`` from a checkpoint before this hook runs, so a resumed
    run hands the optimizer the epoch the uninterrupted run would have. Optimizers without
    ``set_epoch`` are left alone, so the callback is harmless next to any other optimizer.
    """

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for optimizer in trainer.optimizers:
            set_epoch = getattr(optimizer, "set_epoch", None)
            if callable(set_epoch):
                set_epoch(trainer.current_epoch)
