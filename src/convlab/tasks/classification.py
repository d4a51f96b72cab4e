"""Classification: cross-entropy loss, accuracy per split."""

from collections.abc import Sequence

import torch
import torchmetrics
from torch import nn
from torch.nn import functional as F

from convlab.tasks.supervised import SupervisedTask


class ClassificationTask(SupervisedTask):
    """Logs ``{split}/loss`` and ``{split}/acc``; keeps the class names in the checkpoint."""

    def __init__(
        self, net: nn.Module, optimizer, num_classes: int,
        class_names: Sequence[str] | None = None, scheduler=None,
    ) -> None:  # fmt: skip
        self.num_classes = num_classes
        super().__init__(net=net, optimizer=optimizer, scheduler=scheduler)
        self.class_names = list(class_names) if class_names else None

    def metrics(self) -> dict[str, torchmetrics.Metric]:
        return {"acc": torchmetrics.Accuracy(task="multiclass", num_classes=self.num_classes)}

    def compute_loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target)
