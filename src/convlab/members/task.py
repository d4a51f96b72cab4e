"""The LightningModule of a stacked run: K members, one optimizer step for all of them.

The loss handed to backward is the *sum* of the members' mean losses. Member k's parameters
enter only its own loss, so the gradient of the sum with respect to them is exactly the gradient
of its own loss: what its single run computes. An element-wise optimizer (SGD, Adam, AdamW)
then moves member k's slice of every stacked parameter as K separate optimizers would.

Per member and kept in the checkpoint (buffers), so a resumed run continues each member exactly:
the step at which it diverged (``-1`` while it trains), its latest validation metrics, and its
best validation value with the weights that reached it (what a single run's checkpoint callback
keeps for ``test_ckpt=best``). A member whose training loss turns NaN or infinite is recorded as
diverged at that step; its slices keep being stepped (element-wise, they touch nothing else) but
its metrics stay those of the validation that ends that epoch, as a single run stops there. The
run stops when every member has diverged.
"""

from __future__ import annotations

import logging
import math

import lightning as L
import torch
from torch import nn

from convlab.members.scores import MemberSums, member_losses, objective
from convlab.tasks.manual_steps import grouped_backward, grouped_step, step_schedulers

log = logging.getLogger("convlab")


class MembersTask(L.LightningModule):
    def __init__(
        self,
        net: nn.Module,
        optimizer,
        seeds: list[int],
        kind: str = "regression",
        target_scale: float = 1.0,
        monitor: str = "val/loss",
        mode: str = "min",
        scheduler=None,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.net, self.seeds, self.kind = net, list(seeds), kind
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.monitor, self.mode = monitor.partition("/")[2], mode
        self.sums = {split: MemberSums(kind, target_scale) for split in ("val", "test")}
        self.names = self.sums["val"].names
        self.trainable = any(p.requires_grad for p in net.parameters())
        members = len(self.seeds)
        self.register_buffer("diverged_at", torch.full((members,), -1, dtype=torch.long))
        self.register_buffer("diverged_epoch", torch.full((members,), -1, dtype=torch.long))
        self.register_buffer("last_val", torch.full((len(self.names), members), math.nan))
        self.register_buffer("validated", torch.zeros(members, dtype=torch.bool))
        worst = math.inf if mode == "min" else -math.inf
        self.register_buffer("best_value", torch.full((members,), worst))
        for i, p in enumerate(net.parameters()):
            self.register_buffer(f"best_{i}", p.detach().clone())
        self._train_loss: torch.Tensor | None = None
        self._train_count = 0
        self.writers = None  # a MemberWriters, set by the runner
        self._lr: float | None = None

    # --- the members -----------------------------------------------------------------------
    @property
    def members(self) -> int:
        return len(self.seeds)

    def alive(self) -> torch.Tensor:
        return self.diverged_at < 0

    def split_metrics(self, split: str) -> dict[str, None]:
        """The metric names of a split (the HParams columns), loss excluded as for a single run."""
        return {f"{split}/{name}": None for name in self.names if name != "loss"}

    def _stacked(self, x: torch.Tensor, target: torch.Tensor):
        """Validation and test batches are shared: every member sees the same samples."""
        if x.dim() == self.input_dim:
            x = x.expand(self.members, *x.shape)
            target = target.expand(self.members, *target.shape)
        return x, target

    @property
    def input_dim(self) -> int:
        return 2  # [B, features]; the max(a, b) nets' input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    # --- training --------------------------------------------------------------------------
    def on_train_epoch_start(self) -> None:
        self._lr = float(self.trainer.optimizers[0].param_groups[0]["lr"])

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        optimizer = self.optimizers()
        backward = grouped_backward(self, grouped=isinstance(batch, list))
        step = grouped_step(self, optimizer, grouped=isinstance(batch, list))
        max_steps = self.trainer.max_steps
        per_step = any(c.interval == "step" for c in self.trainer.lr_scheduler_configs)
        losses = []
        for x, target in batch if isinstance(batch, list) else [batch]:
            step_losses = member_losses(self.kind, self.net(x), target)
            if self.trainable:
                optimizer.zero_grad()
                backward(objective(step_losses))
            step()
            losses.append(step_losses.detach())
            size = x.shape[1]
            weighted = losses[-1] * size
            self._train_loss = weighted if self._train_loss is None else self._train_loss + weighted
            self._train_count += size
            if per_step:
                step_schedulers(self, "step")
            if max_steps >= 0 and self.global_step >= max_steps:
                break
        stacked = torch.stack(losses)  # [steps, K]: one loss per member and optimizer step
        self._check_divergence(stacked)
        return stacked

    def _check_divergence(self, losses: torch.Tensor) -> None:
        bad = ~torch.isfinite(losses) & self.alive()
        if not bool(bad.any()):  # one host sync per trainer batch
            return
        first_step = self.global_step - losses.shape[0]
        for k in bad.any(dim=0).nonzero().flatten().tolist():
            index = int(bad[:, k].nonzero()[0, 0])
            self.diverged_at[k] = first_step + index
            self.diverged_epoch[k] = self.current_epoch
            log.warning(
                "diverged: member seed=%d: training loss is %s at step %d; recorded as diverged, "
                "the other members train on", self.seeds[k], float(losses[index, k]),
                first_step + index,
            )  # fmt: skip
        if not bool(self.alive().any()):
            self.trainer.should_stop = True  # after trainer.min_epochs, as a single run

    def on_train_epoch_end(self) -> None:
        if self._train_loss is not None and self.writers is not None:
            loss = self._train_loss / self._train_count
            step = self.global_step
            self.writers.scalars({"train/loss": loss}, step, self.alive())
            if self._lr is not None:
                self.writers.scalars({"lr": torch.full_like(loss, self._lr)}, step, self.alive())
        self._train_loss, self._train_count = None, 0
        step_schedulers(self, "epoch")

    # --- validation and test ---------------------------------------------------------------
    def _eval_step(self, batch, split: str) -> None:
        x, target = self._stacked(*batch)
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
        # A single run that diverges still finishes that epoch's validation, then stops.
        alive = self.alive() | (self.diverged_epoch == self.current_epoch)
        values = torch.stack([metrics[name] for name in self.names])
        self.last_val.copy_(torch.where(alive, values, self.last_val))
        self.validated |= alive
        self._keep_best(metrics[self.monitor], alive)
        if self.writers is not None:
            named = {f"val/{name}": value for name, value in metrics.items()}
            self.writers.scalars(named, self.global_step, alive)

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
        """Each member's weights at its best validation (``test_ckpt=best``); a member that was
        never validated keeps its current weights, as a single run without a best checkpoint."""
        validated = torch.isfinite(self.best_value)
        with torch.no_grad():
            for i, p in enumerate(self.net.parameters()):
                mask = validated.view(-1, *([1] * (p.dim() - 1)))
                p.copy_(torch.where(mask, getattr(self, f"best_{i}"), p))

    def on_test_epoch_end(self) -> None:
        self.test_metrics = self.sums["test"].compute()
        self.sums["test"].reset()
        if self.writers is not None:
            named = {f"test/{name}": value for name, value in self.test_metrics.items()}
            self.writers.scalars(named, self.global_step, torch.ones_like(self.alive()))

    def member_metrics(self, k: int) -> dict[str, float]:
        """Member k's final ``val/*`` (its last validation) and ``test/*`` metrics."""
        metrics = {}
        if bool(self.validated[k]):
            metrics = {f"val/{n}": float(self.last_val[i, k]) for i, n in enumerate(self.names)}
        for name, value in getattr(self, "test_metrics", {}).items():
            metrics[f"test/{name}"] = float(value[k])
        return metrics

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer=optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler}}
