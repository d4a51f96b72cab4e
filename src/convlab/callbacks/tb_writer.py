"""Where the inspection callbacks draw: the run's TensorBoard writer, and figures as pixels."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def tensorboard_writer(trainer: L.Trainer):
    """The ``SummaryWriter`` of the first TensorBoard logger, or ``None``.

    ``None`` on ranks other than 0, with ``logger=none``, and under ``fast_dev_run`` (which swaps
    the loggers for a dummy): the callbacks then do nothing instead of failing.
    """
    if not trainer.is_global_zero:
        return None
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


def figure_to_chw(figure: Figure) -> torch.Tensor:
    """Render a matplotlib figure to a ``(3, H, W)`` uint8 tensor.

    Drawn with the Agg canvas directly, so no pyplot state or GUI backend is involved (these
    callbacks also run inside notebooks and worker processes).
    """
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return torch.from_numpy(rgba[..., :3].copy()).permute(2, 0, 1)


def class_labels(pl_module: L.LightningModule, num_classes: int) -> list[str]:
    """The class names the task keeps (from the data module), else the class indices."""
    names = getattr(pl_module, "class_names", None)
    if names and len(names) == num_classes:
        return [str(name) for name in names]
    return [str(index) for index in range(num_classes)]
