"""K copies of a small net as one module: ``[K, B, in] -> [K, B, out]``.

Each ``nn.Linear`` becomes one ``StackedLinear`` (K weights as ``[K, in, out]``, one batched
matmul); the rest of the net acts element-wise or on the last axis, so its own ``forward`` runs
unchanged. Member k starts from exactly net k's weights.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from convlab.models.exact import ExactMax
from convlab.models.gated import GatedMax
from convlab.models.mlp import MLP

# Nets whose forward is correct on a leading member axis once their Linears are stacked: every
# other op in them acts element-wise or along the last axis. A net not listed is refused.
STACKABLE = (MLP, GatedMax, ExactMax)


class StackedLinear(nn.Module):
    def __init__(self, layers: list[nn.Linear]) -> None:
        super().__init__()
        requires_grad = layers[0].weight.requires_grad
        weight = torch.stack([layer.weight.detach().t() for layer in layers])
        self.weight = nn.Parameter(weight.contiguous(), requires_grad=requires_grad)
        self.bias = None
        if layers[0].bias is not None:
            bias = torch.stack([layer.bias.detach() for layer in layers]).unsqueeze(1)
            self.bias = nn.Parameter(bias.contiguous(), requires_grad=requires_grad)

    @property
    def members(self) -> int:
        return self.weight.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.bmm(x, self.weight)
        return torch.baddbmm(self.bias, x, self.weight)

    def member(self, k: int) -> nn.Linear:
        layer = nn.Linear(*self.weight.shape[1:], bias=self.bias is not None)
        with torch.no_grad():
            layer.weight.copy_(self.weight[k].t())
            if self.bias is not None:
                layer.bias.copy_(self.bias[k, 0])
        return layer.requires_grad_(self.weight.requires_grad)


def stack_nets(nets: list[nn.Module]) -> nn.Module:
    first = nets[0]
    if not isinstance(first, STACKABLE):
        names = ", ".join(cls.__name__ for cls in STACKABLE)
        raise ValueError(f"members: {type(first).__name__} cannot be stacked (only {names})")
    stacked = copy.deepcopy(first)
    modules = [dict(net.named_modules()) for net in nets]
    for name, module in first.named_modules():
        if isinstance(module, nn.Linear):
            _replace(stacked, name, StackedLinear([found[name] for found in modules]))
        elif next(module.parameters(recurse=False), None) is not None:
            raise ValueError(f"members: {type(module).__name__} layers cannot be stacked")
    return stacked


def unstack_net(stacked: nn.Module, k: int) -> nn.Module:
    """Member k as a plain net (the class the run's config builds), e.g. for a check."""
    net = copy.deepcopy(stacked)
    for name, module in stacked.named_modules():
        if isinstance(module, StackedLinear):
            _replace(net, name, module.member(k))
    return net


def _replace(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)
