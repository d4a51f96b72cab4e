"""Base for callbacks that look at the model's class predictions on the test split."""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback


class TestPredictionCallback(Callback):
    """Runs the model on each test batch and hands ``(images, targets, logits)`` to ``collect``;
    ``render`` is called once at the end of the test epoch.

    The step's own outputs are not returned by the task, so the batch is scored again here: one
    extra forward pass over the test split, negligible next to training.
    """

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.reset()

    def on_test_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        images, targets = batch[0], batch[1]
        with torch.no_grad():
            logits = pl_module(images)
        if logits.ndim != 2:
            return  # not a classifier's (batch, classes) output: nothing to show
        self.collect(images, targets, logits)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.render(trainer, pl_module)

    # --- to specialise -------------------------------------------------------------------
    def reset(self) -> None:
        raise NotImplementedError

    def collect(self, images: torch.Tensor, targets: torch.Tensor, logits: torch.Tensor) -> None:
        raise NotImplementedError

    def render(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        raise NotImplementedError
