"""Regression: MSE loss in the net's units, ``*/mse`` and ``*/mae`` in the data's original units."""

from __future__ import annotations

import torch
import torchmetrics
from torch import nn
from torch.nn import functional as F

from convlab.tasks.supervised import SupervisedTask


class RegressionTask(SupervisedTask):
    """``{split}/loss`` is the MSE the optimizer sees (normalised units); ``{split}/mse`` and
    ``{split}/mae`` are in original units, so runs with different normalisations compare.

    ``target_shift`` and ``target_scale`` come from the data module (``x = x' * scale + shift``)
    and are saved in the checkpoint. ``log_train_steps`` is off by default: the max-function
    experiments train at batch size 1, where per-step logging would dominate the step time
    (see ``SupervisedTask``). A net without trainable parameters (``ExactMax``) is only
    evaluated: no backward pass, and the optimizer step that counts the step changes nothing.
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer,
        target_shift: float = 0.0,
        target_scale: float = 1.0,
        log_train_steps: bool = False,
        scheduler=None,
    ) -> None:
        super().__init__(net=net, optimizer=optimizer, scheduler=scheduler)
        self.log_train_steps = log_train_steps
        self.target_shift = float(target_shift)
        self.target_scale = float(target_scale)
        self.automatic_optimization = any(p.requires_grad for p in self.net.parameters())

    def metric_collection(self, split: str) -> nn.Module:
        return torchmetrics.MetricCollection(
            {"mse": torchmetrics.MeanSquaredError(), "mae": torchmetrics.MeanAbsoluteError()},
            prefix=f"{split}/",
        )

    def compute_loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output, target)

    def update_metrics(self, split: str, output: torch.Tensor, target: torch.Tensor) -> None:
        # Errors only depend on differences, so the shift cancels and scaling is enough.
        scale = self.target_scale
        self.split_metrics(split).update(output * scale, target * scale)

    def to_original_units(self, output: torch.Tensor) -> torch.Tensor:
        return output * self.target_scale + self.target_shift

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss = self.shared_step(batch, "train")
        if not self.automatic_optimization:
            self.optimizers().step()  # no parameter has a gradient: a no-op that counts the step
        return loss
