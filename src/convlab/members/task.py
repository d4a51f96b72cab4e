"""The LightningModule of a stacked run: K members, one optimizer step for all of them.

Backward sees the *sum* of the members' losses: member k's parameters enter only its own, so
their gradient is its single run's and an element-wise optimizer moves each member's slices as K
optimizers would. Buffers keep, per member, its divergence step (``-1``: none), last validation
and best value with its weights (``test_ckpt=best``), so a resume continues each exactly. A
diverged member keeps its metrics of that epoch's validation, where a single run stops.
"""

import logging
import math

import lightning as L
import torch
from torch import nn

from convlab.callbacks.step_axis import batch_loss_due
from convlab.members.scores import MemberSums, member_losses, objective
from convlab.tasks.manual_steps import manual_steps, step_schedulers
from convlab.tasks.supervised import SupervisedTask

log = logging.getLogger("convlab")


class MembersTask(L.LightningModule):
    INPUT_DIM = 2  # [B, features]: the max(a, b) nets' input; stacked inputs have one more
    example_axes = 2  # a training input is [K, B, ...]: K·B examples (for the epoch timer)

    def __init__(
        self, net: nn.Module, optimizer, seeds: list[int], kind: str = "regression",
        target_scale: float = 1.0, monitor: str = "val/loss", mode: str = "min", scheduler=None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.automatic_optimization = False
        self.net, self.seeds, self.kind = net, list(seeds), kind
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.monitor, self.mode = monitor.partition("/")[2], mode
        self.sums = {split: MemberSums(kind, target_scale) for split in ("val", "test")}
        self.names = self.sums["val"].names
        self.trainable = any(p.requires_grad for p in net.parameters())
        self.members = members = len(self.seeds)
        self.register_buffer("diverged_at", torch.full((members,), -1, dtype=torch.long))
        self.register_buffer("diverged_epoch", torch.full((members,), -1, dtype=torch.long))
        self.register_buffer("last_val", torch.full((len(self.names), members), math.nan))
        self.register_buffer("validated", torch.zeros(members, dtype=torch.bool))
        worst = math.inf if mode == "min" else -math.inf
        self.register_buffer("best_value", torch.full((members,), worst))
        for i, p in enumerate(net.parameters()):
            self.register_buffer(f"best_{i}", p.detach().clone())
        # The epoch's training outputs and targets, scored at its end as a single run does.
        self._train_outputs: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._batch_losses: torch.Tensor | None = None  # [steps, K] of the last trainer batch
        self.writers = None  # a MemberWriters, set by the runner

    configure_optimizers = SupervisedTask.configure_optimizers  # the same factories

    def alive(self) -> torch.Tensor:
        return self.diverged_at < 0

    def reporting(self) -> torch.Tensor:
        """The members whose single run would still log: alive, or diverged in this epoch
        (a single run finishes that epoch, its validation included, then stops)."""
        return self.alive() | (self.diverged_epoch == self.current_epoch)

    def split_metrics(self, split: str) -> dict[str, None]:
        """The HParams columns, loss excluded as for a single run."""
        return {f"{split}/{name}": None for name in self.names if name != "loss"}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        def step_losses(step_batch) -> torch.Tensor:
            x, target = step_batch
            output = self.net(x)
            if self.writers is not None:
                self._train_outputs.append((output.detach(), target))
            return member_losses(self.kind, output, target)

        # [steps, K]: one loss per member and optimizer step
        stacked = manual_steps(self, batch, isinstance(batch, list), step_losses, objective)
        self._check_divergence(stacked)
        self._batch_losses = stacked
        return stacked

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        losses = self._batch_losses
        if self.writers is not None and batch_loss_due(self.trainer, batch_idx, len(losses)):
            self.writers.scalars({"train/batch_loss": losses[-1]}, self.global_step, self.alive())

    def _check_divergence(self, losses: torch.Tensor) -> None:
        bad = ~torch.isfinite(losses) & self.alive()
        if not bool(bad.any()):  # one host sync per trainer batch
            return
        first_step = self.global_step - losses.shape[0]
        for k in bad.any(dim=0).nonzero().flatten().tolist():
            index = int(bad[:, k].nonzero()[0, 0])
            self.diverged_at[k] = first_step + index
            self.diverged_epoch[k] = self.current_epoch
            log.warning("diverged: member seed=%d: training loss is %s at step %d; recorded as "
                        "diverged, the other members train on", self.seeds[k],
                        float(losses[index, k]), first_step + index)  # fmt: skip
        if not bool(self.alive().any()):
            self.trainer.should_stop = True  # after trainer.min_epochs, as a single run

    def on_train_epoch_end(self) -> None:
        if self._train_outputs and self.writers is not None:
            outputs, targets = zip(*self._train_outputs, strict=True)
            scores = MemberSums(self.kind, self.sums["val"].scale)
            scores.update(torch.cat(outputs, dim=1), torch.cat(targets, dim=1))
            self.writers.scalars(scores.compute(), self.global_step, self.reporting(), "train/")
        self._train_outputs.clear()
        step_schedulers(self, "epoch")

    def _eval_step(self, batch, split: str) -> None:
        x, target = batch
        if x.dim() == self.INPUT_DIM:  # shared validation and test samples: the same for all
            x, target = x.expand(self.members, *x.shape), target.expand(self.members, *target.shape)
        with torch.no_grad():
            self.sums[split].update(self.net(x), target)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def on_validation_epoch_end(self) -> None:
        metrics = self.sums["val"].compute()
        self.sums["val"].reset()
        if self.trainer.sanity_checking:
            return
        alive = self.reporting()
        values = torch.stack([metrics[name] for name in self.names])
        self.last_val.copy_(torch.where(alive, values, self.last_val))
        self.validated |= alive
        self._keep_best(metrics[self.monitor], alive)
        if self.writers is not None:
            self.writers.scalars(metrics, self.global_step, alive, prefix="val/")

    def _keep_best(self, value: torch.Tensor, alive: torch.Tensor) -> None:
        """Strictly better than before, as the checkpoint callback's top-1 comparison."""
        better = value < self.best_value if self.mode == "min" else value > self.best_value
        better &= alive
        self.best_value.copy_(torch.where(better, value, self.best_value))
        for i, p in enumerate(self.net.parameters()):
            mask = better.view(-1, *([1] * (p.dim() - 1)))
            best = getattr(self, f"best_{i}")
            best.copy_(torch.where(mask, p.detach(), best))

    def use_best_weights(self) -> None:
        """For ``test_ckpt=best``; a member never validated keeps its weights, as a single run."""
        validated = torch.isfinite(self.best_value)
        with torch.no_grad():
            for i, p in enumerate(self.net.parameters()):
                mask = validated.view(-1, *([1] * (p.dim() - 1)))
                p.copy_(torch.where(mask, getattr(self, f"best_{i}"), p))

    def on_test_epoch_end(self) -> None:
        self.test_metrics = self.sums["test"].compute()
        self.sums["test"].reset()
        if self.writers is not None:
            everyone = torch.ones_like(self.alive())
            self.writers.scalars(self.test_metrics, self.global_step, everyone, prefix="test/")

    def member_metrics(self, k: int) -> dict[str, float]:
        """Member k's final ``val/*`` (its last validation) and ``test/*`` metrics."""
        names = self.names if bool(self.validated[k]) else []
        metrics = {f"val/{n}": float(self.last_val[i, k]) for i, n in enumerate(names)}
        for name, value in getattr(self, "test_metrics", {}).items():
            metrics[f"test/{name}"] = float(value[k])
        return metrics
