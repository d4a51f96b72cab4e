"""What Lightning does around an optimizer step under manual optimization, shared by the tasks
that take several optimizer steps per trainer batch (``RegressionTask``'s grouped steps, the
stacked members)."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.plugins.precision import DoublePrecision, Precision
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch.optim.lr_scheduler import ReduceLROnPlateau

from convlab.compat import counted_step
from convlab.tasks.supervised import PLATEAU_MONITOR


def _plain(trainer: L.Trainer) -> bool:
    """One device at full precision: no loss scaling, no gradient sync to add."""
    return isinstance(trainer.strategy, SingleDeviceStrategy) and type(
        trainer.precision_plugin
    ) in (Precision, DoublePrecision)


def grouped_backward(module: L.LightningModule, grouped: bool) -> Callable[[torch.Tensor], None]:
    """``manual_backward``, or plain ``loss.backward`` where that is all it would do.

    On one device at full precision Lightning's backward adds only the ``on_before_backward``
    and ``on_after_backward`` hooks of every callback (README, "Batch size 1"); grouped steps
    skip them (``on_before_optimizer_step``, where gradients are final, still runs). Loss
    scaling (16-bit) and DDP's gradient sync need Lightning's.
    """
    plain = _plain(module.trainer)
    return torch.Tensor.backward if plain and grouped else module.manual_backward


def grouped_step(
    module: L.LightningModule, optimizer: LightningOptimizer, grouped: bool
) -> Callable[[], None]:
    """``optimizer.step``, or the wrapped optimizer's step counted as Lightning counts it.

    Lightning's step goes through the strategy and the precision plugin to call every
    callback's ``on_before_optimizer_step``: about 60 µs, an eighth of a batch-size-1 step
    (README, "Batch size 1"). Where nothing overrides that hook (and on one device at full
    precision, where the plugins add nothing else; manual optimization has no gradient
    clipping), grouped steps call the optimizer between the two callbacks the manual loop gave
    the ``LightningOptimizer``, which count the step (``global_step``) and time it for the
    profiler.
    """
    trainer = module.trainer
    hooked = any(
        is_overridden("on_before_optimizer_step", owner) for owner in (module, *trainer.callbacks)
    )
    if not grouped or hooked or not _plain(trainer):
        return optimizer.step
    return counted_step(optimizer)


def step_schedulers(module: L.LightningModule, interval: str) -> None:
    """What Lightning does for automatic optimization (it leaves manual ones alone)."""
    trainer = module.trainer
    for config in trainer.lr_scheduler_configs:
        count = module.global_step if interval == "step" else module.current_epoch + 1
        if config.interval != interval or count % config.frequency:
            continue
        if isinstance(config.scheduler, ReduceLROnPlateau):
            config.scheduler.step(_plateau_metric(trainer))
        else:
            config.scheduler.step()


def _plateau_metric(trainer: L.Trainer) -> torch.Tensor:
    metric = trainer.callback_metrics.get(PLATEAU_MONITOR)
    if metric is None:
        raise RuntimeError(
            f"ReduceLROnPlateau steps on {PLATEAU_MONITOR} at every epoch's end, but no "
            "validation has logged it yet. Validate every epoch (trainer.check_val_every_n_epoch"
            "=1, trainer.limit_val_batches above 0) or choose another scheduler."
        )
    return metric
