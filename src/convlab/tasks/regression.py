"""Regression: MSE loss in the net's units, ``*/mse`` and ``*/mae`` in the data's original units."""

import torch
import torchmetrics
from torch import nn
from torch.nn import functional as F

from convlab.tasks.manual_steps import manual_steps, step_schedulers
from convlab.tasks.supervised import SupervisedTask


class RegressionTask(SupervisedTask):
    """``{split}/loss`` is the MSE the optimizer sees (normalised units); ``{split}/mse`` and
    ``{split}/mae`` are in original units (``x = x' * target_scale + target_shift``, from the
    data module), so runs with different normalisations compare.

    Manual optimization (``manual_steps``: the automatic one's zero_grad, backward and step, and
    the schedulers) takes two cases: ``steps_per_batch > 1``, where a training batch is a list of
    that many batches (``StepGroups``) and Lightning's per-batch overhead is paid once per group
    (no gradient clipping or accumulation); and a net without trainable parameters (``ExactMax``),
    only evaluated, its optimizer step counting the step.
    """

    def __init__(
        self, net: nn.Module, optimizer, target_shift: float = 0.0, target_scale: float = 1.0,
        steps_per_batch: int = 1, scheduler=None,
    ) -> None:  # fmt: skip
        super().__init__(net=net, optimizer=optimizer, scheduler=scheduler)
        if steps_per_batch < 1:
            raise ValueError(f"steps_per_batch must be >= 1, got {steps_per_batch}")
        self.target_shift, self.target_scale = float(target_shift), float(target_scale)
        self.steps_per_batch = steps_per_batch
        self.trainable = any(p.requires_grad for p in self.net.parameters())
        self.automatic_optimization = self.trainable and steps_per_batch == 1

    def metrics(self) -> dict[str, torchmetrics.Metric]:
        return {"mse": torchmetrics.MeanSquaredError(), "mae": torchmetrics.MeanAbsoluteError()}

    def compute_loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output, target)

    def update_metrics(self, split: str, output: torch.Tensor, target: torch.Tensor) -> None:
        # Errors only depend on differences, so the shift cancels and scaling is enough.
        self.split_metrics(split).update(output * self.target_scale, target * self.target_scale)

    def to_original_units(self, output: torch.Tensor) -> torch.Tensor:
        return output * self.target_scale + self.target_shift

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        if self.automatic_optimization:
            return self.shared_step(batch, "train")
        return manual_steps(
            self, batch, self.steps_per_batch > 1, lambda b: self.shared_step(b, "train")
        )

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        if not self.automatic_optimization:  # else Lightning steps them
            step_schedulers(self, "epoch")
