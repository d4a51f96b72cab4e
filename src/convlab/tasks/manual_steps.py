"""What Lightning does around a manual optimizer step, for the tasks that take several per
trainer batch (``RegressionTask``'s grouped steps, the stacked members)."""

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
    """``loss.backward`` where ``manual_backward`` would only add the callbacks' backward hooks
    (one device at full precision; grouped steps skip them, ``on_before_optimizer_step`` still
    runs); loss scaling (16-bit) and DDP's gradient sync need Lightning's."""
    plain = _plain(module.trainer)
    return torch.Tensor.backward if plain and grouped else module.manual_backward


def grouped_step(
    module: L.LightningModule, optimizer: LightningOptimizer, grouped: bool
) -> Callable[[], None]:
    """``optimizer.step``, or, for grouped steps where nothing overrides
    ``on_before_optimizer_step`` on one device at full precision, the counted step of
    ``compat``: Lightning's goes through the strategy and precision plugin to call that hook,
    about 60 µs, an eighth of a batch-size-1 step."""
    trainer = module.trainer
    hooked = any(
        is_overridden("on_before_optimizer_step", owner) for owner in (module, *trainer.callbacks)
    )
    if not grouped or hooked or not _plain(trainer):
        return optimizer.step
    return counted_step(optimizer)


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
