"""The one training/validation/test step every task shares."""

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torchmetrics
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau

from convlab.callbacks.step_axis import batch_loss_due
from convlab.compat import FastHookName

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[..., Any]
SPLITS = ("train", "val", "test")
# What a ReduceLROnPlateau scheduler steps on: the loss every task logs after each validation.
PLATEAU_MONITOR = "val/loss"


class SupervisedTask(FastHookName, L.LightningModule):
    """Wraps a plain ``nn.Module``; subclasses give ``compute_loss(output, target)`` and
    ``metrics()`` (name → metric). ``optimizer``/``scheduler``: Hydra ``_partial_`` factories.

    ``{split}/loss`` (the mean over the split's samples) is logged once per epoch with the
    collection; ``train/batch_loss`` is the per-step curve, logged only on the steps Lightning
    writes (a metric update and a ``self.log`` per step cost more than a batch-size-1 step), and
    training batches are scored at the epoch's end. Under DDP ``compute()`` gathers every rank's
    state where all take part (``sync_dist`` would reduce when rank 0's progress bar reads it,
    on rank 0 alone, and hang the others).
    """

    def __init__(
        self, net: nn.Module, optimizer: OptimizerFactory, scheduler: SchedulerFactory | None = None
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.net, self.optimizer_factory, self.scheduler_factory = net, optimizer, scheduler
        # One collection per split, so validation never mixes into the training statistics.
        for split in SPLITS:
            setattr(self, f"{split}_metrics", self.metric_collection(split))
            # A NaN loss stays NaN (the default drops it with a warning; "disable" would also
            # drop the batch-size weights, torchmetrics 1.9).
            setattr(self, f"{split}_loss", torchmetrics.MeanMetric(nan_strategy=float("nan")))
        self._train_batches: list[tuple[torch.Tensor, ...]] = []

    def metrics(self) -> dict[str, torchmetrics.Metric]:
        raise NotImplementedError

    def metric_collection(self, split: str) -> nn.Module:
        return torchmetrics.MetricCollection(self.metrics(), prefix=f"{split}/")

    def compute_loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def update_metrics(self, split: str, output: torch.Tensor, target: torch.Tensor) -> None:
        self.split_metrics(split).update(output, target)

    def split_metrics(self, split: str) -> nn.Module:
        return getattr(self, f"{split}_metrics")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def shared_step(self, batch, split: str) -> torch.Tensor:
        x, target = batch
        output = self.net(x)
        loss = self.compute_loss(output, target)
        if split == "train":
            self._train_batches.append((output.detach(), target, loss.detach()))
            return loss
        with torch.no_grad():
            self._update(split, output.detach(), target, loss.detach())
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        # The per-step curve, named apart from the epoch's train/loss; the epoch's steps so far
        # tell an epoch of one step, whose batch loss would repeat train/loss.
        steps = len(self._train_batches)
        if steps and batch_loss_due(self.trainer, batch_idx, steps):
            self.log("train/batch_loss", self._train_batches[-1][2], on_step=True, on_epoch=False,
                     prog_bar=True)  # fmt: skip

    def _update(self, split: str, output, target, loss, batch_sizes=None) -> None:
        self.update_metrics(split, output, target)
        weight = len(target) if batch_sizes is None else batch_sizes
        getattr(self, f"{split}_loss").update(loss, weight)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        return self.shared_step(batch, "train")

    def validation_step(self, batch, batch_idx: int) -> None:
        self.shared_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self.shared_step(batch, "test")

    def _log_epoch_metrics(self, split: str) -> None:
        metrics, loss = self.split_metrics(split), getattr(self, f"{split}_loss")
        self.log_dict({**metrics.compute(), f"{split}/loss": loss.compute()}, prog_bar=True)
        metrics.reset()
        loss.reset()

    def on_train_epoch_end(self) -> None:
        if self._train_batches:  # the epoch's training scores, in one go
            outputs, targets, losses = zip(*self._train_batches, strict=True)
            self._train_batches.clear()
            losses = torch.stack(losses)
            sizes = torch.tensor([len(t) for t in targets], dtype=losses.dtype,
                                 device=losses.device)  # fmt: skip
            with torch.no_grad():
                self._update("train", torch.cat(outputs), torch.cat(targets), losses, sizes)
        self._log_epoch_metrics("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer=optimizer)
        config = {"scheduler": scheduler}
        # Manual optimization steps it in step_schedulers (Lightning would warn and drop this).
        if isinstance(scheduler, ReduceLROnPlateau) and self.automatic_optimization:
            config["monitor"] = PLATEAU_MONITOR
        return {"optimizer": optimizer, "lr_scheduler": config}
