"""Sharpness of the training loss at the end of training, for metrics.json and TensorBoard.

Add it with ``+callbacks.sharpness._target_=convlab.callbacks.sharpness.Sharpness``. A Hessian-
vector product costs about three backward passes (LeNet: ~0.4 s per 1,000 images on one core)
times up to ``iterations``: LeNet wants ``max_samples: 2048``; max(a, b) takes under a second.
"""

import logging
import math
from collections.abc import Iterable
from typing import Any

import lightning as L
import torch

from convlab.analysis.sharpness import (
    epsilon_sharpness,
    top_hessian_eigenvalue,
    trainable_parameters,
)
from convlab.callbacks.tb_writer import tensorboard_writer

log = logging.getLogger(__name__)


def training_batches(loader: Iterable, max_samples: int | None, batch_size: int) -> list[tuple]:
    """``(x, y)`` batches of ``batch_size`` from the loader's first ``max_samples`` samples (a
    fixed subset per run); a loader item is a batch or a list of them (``StepGroups``)."""
    xs, ys, count = [], [], 0
    for x, y in (pair for item in loader for pair in (item if isinstance(item, list) else [item])):
        xs.append(x)
        ys.append(y)
        count += len(y)
        if max_samples is not None and count >= max_samples:
            break
    x, y = torch.cat(xs)[:max_samples], torch.cat(ys)[:max_samples]  # [:None]: all
    return list(zip(x.split(batch_size), y.split(batch_size), strict=True))


class Sharpness(L.Callback):
    """At the end of training (rank 0), the top eigenvalue of the Hessian of the task's loss
    over a fresh ``train_dataloader()`` (the trainer's is left alone); ``epsilon`` adds Keskar et
    al.'s epsilon-sharpness. ``train/sharpness`` in TensorBoard; in ``metrics.json``, ``None``
    where it cannot be measured (no trainable parameters, a non-finite loss, an interruption).
    """

    def __init__(
        self, max_samples: int | None = None, batch_size: int = 1000, iterations: int = 100,
        tolerance: float = 1e-4, seed: int = 0, epsilon: float | None = None,
        epsilon_iterations: int = 10,
    ) -> None:  # fmt: skip
        if max_samples is not None and max_samples < 1:
            raise ValueError(f"max_samples must be positive or None, got {max_samples}")
        if batch_size < 1 or iterations < 1:
            raise ValueError("batch_size and iterations must be positive")
        self.max_samples, self.batch_size, self.seed = max_samples, batch_size, seed
        self.iterations, self.tolerance = iterations, tolerance
        self.epsilon, self.epsilon_iterations = epsilon, epsilon_iterations
        self.values: dict[str, float | None] = {"sharpness": None}

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.interrupted or trainer.datamodule is None:
            return
        if not trainable_parameters(pl_module):
            log.info("sharpness: the net has no trainable parameters; not measured")
            return
        loader = trainer.datamodule.train_dataloader()
        batches = [
            (x.to(pl_module.device), y.to(pl_module.device))
            for x, y in training_batches(loader, self.max_samples, self.batch_size)
        ]
        loss_fn = pl_module.compute_loss
        with torch.enable_grad():
            values = {"sharpness": top_hessian_eigenvalue(
                pl_module, loss_fn, batches, self.iterations, self.tolerance, self.seed
            )}  # fmt: skip
            if self.epsilon is not None:
                values["epsilon_sharpness"] = epsilon_sharpness(
                    pl_module, loss_fn, batches, self.epsilon, self.epsilon_iterations, self.seed
                )
        self.values = {k: v if math.isfinite(v) else None for k, v in values.items()}
        log.info("sharpness: %s", self.values)
        writer = tensorboard_writer(trainer)
        for name, value in self.values.items():
            if writer is not None and value is not None:
                writer.add_scalar(f"train/{name}", value, global_step=trainer.global_step)

    def record_extras(self) -> dict[str, Any]:
        return dict(self.values)
