"""What Lightning does around a manual optimizer step, for the tasks that take several per
trainer batch (``RegressionTask``'s grouped steps, the stacked members)."""

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from lightning.pytorch.plugins.precision import DoublePrecision, Precision
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch.optim.lr_scheduler import ReduceLROnPlateau

from convlab.compat import counted_step
from convlab.tasks.supervised import PLATEAU_MONITOR


def manual_steps(
    module: L.LightningModule,
    batch,
    grouped: bool,
    step_loss: Callable[[Any], torch.Tensor],
    objective: Callable[[torch.Tensor], torch.Tensor] = lambda loss: loss,
) -> torch.Tensor:
    """The optimizer steps of one trainer batch (a list of batches when ``grouped``), each as
    automatic optimization takes it: ``step_loss(batch)``, zero_grad, backward of its
    ``objective``, step, the step-interval schedulers. Without trainable parameters
    (``module.trainable`` false: ``ExactMax``, only evaluated) the step only counts. Stops at
    ``trainer.max_steps``, mid-group where an ungrouped run would. Returns the losses, one per
    optimizer step: the divergence checks find the exact step in there."""
    trainer, optimizer = module.trainer, module.optimizers()
    # One device at full precision: no loss scaling (16-bit) or DDP gradient sync to add, so
    # Lightning's backward would only add the callbacks' backward hooks, which grouped steps
    # skip (``on_before_optimizer_step`` still runs).
    plain = (
        grouped
        and isinstance(trainer.strategy, SingleDeviceStrategy)
        and type(trainer.precision_plugin) in (Precision, DoublePrecision)
    )
    backward = torch.Tensor.backward if plain else module.manual_backward
    # Lightning's step goes through the strategy and precision plugin to call that hook, about
    # 60 µs, an eighth of a batch-size-1 step: where nothing overrides it, the counted step.
    owners = (module, *trainer.callbacks)
    hooked = any(is_overridden("on_before_optimizer_step", owner) for owner in owners)
    step = counted_step(optimizer) if plain and not hooked else optimizer.step
    max_steps = trainer.max_steps
    per_step = any(c.interval == "step" for c in trainer.lr_scheduler_configs)
    losses = []
    for step_batch in batch if grouped else [batch]:
        loss = step_loss(step_batch)
        if module.trainable:
            optimizer.zero_grad()
            backward(objective(loss))
        step()
        losses.append(loss.detach())
        if per_step:
            step_schedulers(module, "step")
        if max_steps >= 0 and module.global_step >= max_steps:
            break
    return torch.stack(losses)


def step_schedulers(module: L.LightningModule, interval: str) -> None:
    """What Lightning does for automatic optimization (it leaves manual ones alone)."""
    count = module.global_step if interval == "step" else module.current_epoch + 1
    for config in module.trainer.lr_scheduler_configs:
        if config.interval != interval or count % config.frequency:
            continue
        if not isinstance(config.scheduler, ReduceLROnPlateau):
            config.scheduler.step()
        elif (metric := module.trainer.callback_metrics.get(PLATEAU_MONITOR)) is not None:
            config.scheduler.step(metric)
        else:
            raise RuntimeError(
                f"ReduceLROnPlateau steps on {PLATEAU_MONITOR} at every epoch's end, but no "
                "validation has logged it yet. Validate every epoch (trainer.check_val_every_n_"
                "epoch=1, trainer.limit_val_batches above 0) or choose another scheduler."
            )
