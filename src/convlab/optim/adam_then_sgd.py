"""Adam until a fixed epoch, then SGD: Keskar & Socher's SWATS (2017) without its learned trigger.

The ``OptimizerEpoch`` callback (added by ``conf/optimizer/adam_then_sgd.yaml``) calls
``set_epoch`` at each epoch start. The phase is a function of that epoch alone, which keeps a
resume exact; a step before any ``set_epoch`` raises rather than silently never switching.
"""

from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch
from pydantic import NonNegativeInt, PositiveFloat
from torch.optim import SGD, Adam, Optimizer

Phase = Literal["adam", "sgd"]


class AdamThenSGD(Optimizer):
    """Adam for epochs ``< switch_epoch``, then SGD (empty momentum buffer at the switch).

    ``lr`` is Adam's (the name every sweep sets), ``sgd_lr`` SGD's; a scheduler changes ``lr``
    and SGD steps with ``sgd_lr`` times the same factor, so both phases get its shape.
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
        return "sgd" if self.epoch is not None and self.epoch >= self.switch_epoch else "adam"

    @property
    def active(self) -> Optimizer:
        return self.sgd if self.phase == "sgd" else self.adam

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

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
        for outer, adam, sgd in zip(
            self.param_groups, self.adam.param_groups, self.sgd.param_groups, strict=True
        ):
            adam["lr"] = outer["lr"]
            sgd["lr"] = outer["sgd_lr"] * outer["lr"] / outer["adam_lr"]
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
