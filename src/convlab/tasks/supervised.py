"""The one training/validation/test step every task shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import nn

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[..., Any]
SPLITS = ("train", "val", "test")


class SupervisedTask(L.LightningModule):
    """Wraps a plain ``nn.Module``; subclasses say how to score a batch.

    Subclasses implement ``compute_loss(output, target)`` and ``metric_collection(split)``
    (a ``torchmetrics`` collection per split, updated with ``update_metrics``).
    ``optimizer`` (and ``scheduler``) are Hydra ``_partial_`` factories called in
    ``configure_optimizers``.

    Tags: ``{split}/loss`` and the collection's metrics once per epoch (``train/loss`` is the
    epoch's mean, for every task), and ``train/batch_loss`` per logged training step.

    ``log_train_steps = False`` (a subclass or instance attribute) keeps each training batch's
    outputs and scores the epoch once at its end: the same epoch metrics and ``train/loss``
    (mean over samples), no ``train/batch_loss`` curve. At batch size 1 a ``self.log`` and a
    metric update per step cost more than the step itself.
    """

    log_train_steps: bool = True

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.net = net
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        # One collection per split, so validation never mixes into the training statistics.
        for split in SPLITS:
            setattr(self, f"{split}_metrics", self.metric_collection(split))
        self._train_batches: list[tuple[torch.Tensor, ...]] = []

    # --- to specialise -------------------------------------------------------------------
    def metric_collection(self, split: str) -> nn.Module:
        raise NotImplementedError

    def compute_loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def update_metrics(self, split: str, output: torch.Tensor, target: torch.Tensor) -> None:
        self.split_metrics(split).update(output, target)

    def split_metrics(self, split: str) -> nn.Module:
        return getattr(self, f"{split}_metrics")

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning sets _current_fx_name (a str) around every hook call, ~40 times a training
        # step; nn.Module.__setattr__ takes ~2 us for it, ~7 % of a batch-size-1 step.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    # --- shared --------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def shared_step(self, batch, split: str) -> torch.Tensor:
        x, target = batch
        output = self.net(x)
        loss = self.compute_loss(output, target)
        if split == "train" and not self.log_train_steps:
            self._train_batches.append((output.detach(), target, loss.detach()))
            return loss
        with torch.no_grad():
            self.update_metrics(split, output.detach(), target)
        self.log(
            f"{split}/loss", loss.detach(), on_step=False, on_epoch=True,
            prog_bar=True, batch_size=x.shape[0], sync_dist=True,
        )  # fmt: skip
        if split == "train":  # the per-step curve, named apart from the epoch's train/loss
            self.log("train/batch_loss", loss.detach(), on_step=True, on_epoch=False, prog_bar=True)
        return loss

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        return self.shared_step(batch, "train")

    def validation_step(self, batch, batch_idx: int) -> None:
        self.shared_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self.shared_step(batch, "test")

    def _log_epoch_metrics(self, split: str) -> None:
        # torchmetrics gathers its states over all processes in compute(): already global.
        metrics = self.split_metrics(split)
        self.log_dict(metrics.compute(), prog_bar=split != "train")
        metrics.reset()

    def _score_train_batches(self) -> None:
        """The deferred training scores of ``log_train_steps = False``, in one go."""
        if not self._train_batches:
            return
        outputs, targets, losses = zip(*self._train_batches, strict=True)
        self._train_batches.clear()
        sizes = torch.tensor([len(t) for t in targets], dtype=losses[0].dtype)
        loss = (torch.stack(losses) * sizes.to(losses[0].device)).sum() / sizes.sum()
        with torch.no_grad():
            self.update_metrics("train", torch.cat(outputs), torch.cat(targets))
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)

    def on_train_epoch_end(self) -> None:
        self._score_train_batches()
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
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler}}
