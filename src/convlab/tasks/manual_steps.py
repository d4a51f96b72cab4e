"""What Lightning does around an optimizer step under manual optimization, shared by the tasks
that take several optimizer steps per trainer batch (``RegressionTask``'s grouped steps, the
stacked members)."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch
from lightning.pytorch.plugins.precision import DoublePrecision, Precision
from lightning.pytorch.strategies import SingleDeviceStrategy


def grouped_backward(module: L.LightningModule, grouped: bool) -> Callable[[torch.Tensor], None]:
    """``manual_backward``, or plain ``loss.backward`` where that is all it would do.

    On one device at full precision Lightning's backward adds only the ``on_before_backward``
    and ``on_after_backward`` hooks of every callback (README, "Batch size 1"); grouped steps
    skip them (``on_before_optimizer_step``, where gradients are final, still runs). Loss
    scaling (16-bit) and DDP's gradient sync need Lightning's.
    """
    trainer = module.trainer
    plain = isinstance(trainer.strategy, SingleDeviceStrategy) and type(
        trainer.precision_plugin
    ) in (Precision, DoublePrecision)
    return torch.Tensor.backward if plain and grouped else module.manual_backward


def step_schedulers(module: L.LightningModule, interval: str) -> None:
    """What Lightning does for automatic optimization (it leaves manual ones alone)."""
    trainer = module.trainer
    for config in trainer.lr_scheduler_configs:
        count = module.global_step if interval == "step" else module.current_epoch + 1
        if config.interval != interval or count % config.frequency:
            continue
        if config.reduce_on_plateau:
            config.scheduler.step(trainer.callback_metrics[config.monitor])
        else:
            config.scheduler.step()
