"""What the inspection callbacks share: the TensorBoard writer, figures as pixels, predictions."""

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def tensorboard_writer(trainer: L.Trainer):
    """The first TensorBoard logger's ``SummaryWriter``; ``None`` on ranks other than 0, with
    ``logger=none`` and under ``fast_dev_run``: the callbacks then do nothing."""
    loggers = trainer.loggers if trainer.is_global_zero else []
    return next((lg.experiment for lg in loggers if isinstance(lg, TensorBoardLogger)), None)


def figure_to_chw(figure: Figure) -> torch.Tensor:
    """``(3, H, W)`` uint8, drawn by Agg: no pyplot state or GUI backend (notebooks, workers)."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return torch.from_numpy(np.asarray(canvas.buffer_rgba())[..., :3].copy()).permute(2, 0, 1)


class TestPredictionCallback(Callback):
    """Hands each test batch's ``(images, targets, logits)`` to ``collect`` (after ``reset``)
    and calls ``render`` at the test epoch's end. The task returns no outputs, so each batch is
    scored again: one extra forward pass over the test split."""

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.reset()

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        images, targets = batch[0], batch[1]
        with torch.no_grad():
            logits = pl_module(images)
        if logits.ndim == 2:  # else not a classifier's (batch, classes) output
            self.collect(images, targets, logits)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.render(trainer, pl_module)

    @staticmethod
    def labels(pl_module: L.LightningModule, num_classes: int) -> list[str]:
        """The class names the task keeps (from the data module), else the class indices."""
        names = getattr(pl_module, "class_names", None)
        names = names if names and len(names) == num_classes else range(num_classes)
        return [str(name) for name in names]
