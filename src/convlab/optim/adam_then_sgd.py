"""Adam until an epoch, then SGD: "start with Adam to converge fast, then switch to SGD".

The idea is Keskar & Socher's SWATS (2017, "Improving generalization performance by switching
from Adam to SGD"), with the switch at a fixed epoch instead of SWATS's learned trigger and
learning rate.

How it learns the epoch: the trainer tells it. ``set_epoch(epoch)`` is called at the start of
every training epoch by the ``OptimizerEpoch`` callback (``convlab.callbacks.optimizer_epoch``),
which ``conf/optimizer/adam_then_sgd.yaml`` adds to the run's callbacks, so choosing the
optimizer is enough. The phase is a function of that epoch alone, which is what keeps a resumed
run exact: the checkpoint carries both inner optimizers' state, the epoch and the phase, and the
resumed trainer sets the same epoch again before the next step. A step before any ``set_epoch``
raises, rather than silently never switching.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch
from pydantic import NonNegativeInt, PositiveFloat
from torch.optim import SGD, Adam, Optimizer

Phase = Literal["adam", "sgd"]


class AdamThenSGD(Optimizer):
    """``torch.optim.Adam`` for epochs ``< switch_epoch``, ``torch.optim.SGD`` from then on.

    ``lr`` is Adam's learning rate (the name every experiment and sweep already sets);
    ``sgd_lr`` is SGD's. A scheduler sees and changes ``param_groups[i]["lr"]`` as for Adam;
    SGD steps with ``sgd_lr`` times the same factor (``lr / adam_lr``, the scheduled lr over
    the initial one), so any scheduler gives both phases the same shape. SGD starts with an
    empty momentum buffer at the switch.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        sgd_lr: PositiveFloat = 1e-2,
        momentum: float = 0.9,
        switch_epoch: NonNegativeInt = 5,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(params, {"lr": lr, "sgd_lr": sgd_lr})
        for group in self.param_groups:
            group["adam_lr"] = group["lr"]  # the reference that makes lr / adam_lr a factor
        groups = [{"params": group["params"]} for group in self.param_groups]
        self.adam = Adam(
            groups, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, fused=fused
        )
        self.sgd = SGD(
            [dict(g) for g in groups],
            lr=sgd_lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov,
        )  # fmt: skip
        self.switch_epoch = switch_epoch
        self.epoch: int | None = None

    @property
    def phase(self) -> Phase:
        if self.epoch is None:
            return "adam"
        return "sgd" if self.epoch >= self.switch_epoch else "adam"

    @property
    def active(self) -> Optimizer:
        return self.sgd if self.phase == "sgd" else self.adam

    def set_epoch(self, epoch: int) -> None:
        """The trainer's current epoch (0-based); the phase follows from it."""
        self.epoch = int(epoch)

    def _sync_learning_rates(self) -> None:
        for outer, adam, sgd in zip(
            self.param_groups, self.adam.param_groups, self.sgd.param_groups, strict=True
        ):
            adam["lr"] = outer["lr"]
            sgd["lr"] = outer["sgd_lr"] * outer["lr"] / outer["adam_lr"]

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        if self.epoch is None:
            raise RuntimeError(
                "AdamThenSGD.step: no epoch yet. In a run, the OptimizerEpoch callback sets it "
                "(optimizer=adam_then_sgd adds it as callbacks.optimizer_epoch); elsewhere call "
                "set_epoch(epoch) at the start of each epoch."
            )
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._sync_learning_rates()
        self.active.step()
        return loss

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),  # the outer groups: lr as the scheduler left it, sgd_lr
            "adam": self.adam.state_dict(),
            "sgd": self.sgd.state_dict(),
            "epoch": self.epoch,
            "phase": self.phase,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        self.adam.load_state_dict(state.pop("adam"))
        self.sgd.load_state_dict(state.pop("sgd"))
        self.epoch = state.pop("epoch")
        phase = state.pop("phase")
        if phase != self.phase:
            raise ValueError(
                f"AdamThenSGD state says phase {phase!r} at epoch {self.epoch}, but this "
                f"optimizer (switch_epoch={self.switch_epoch}) would be in {self.phase!r}"
            )
        super().load_state_dict(state)
