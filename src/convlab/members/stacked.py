"""K copies of a small net as one module: ``[K, B, in] -> [K, B, out]``.

Each ``nn.Linear`` becomes one ``StackedLinear`` (K weights as ``[K, in, out]``, one batched
matmul); the rest of the net acts element-wise or on the last axis, so its own ``forward`` runs
unchanged. Member k starts from exactly the weights its single run's net starts from.
"""

import copy
from collections.abc import Callable, Sequence

import lightning as L
import torch
from hydra.utils import get_class
from torch import nn

from convlab.members.check import NETS

STACKABLE = tuple(get_class(name) for name in NETS)


class StackedLinear(nn.Module):
    """``weight`` ``[K, in, out]`` (member k's ``nn.Linear`` weight transposed), ``bias``
    ``[K, 1, out]`` or ``None``."""

    def __init__(
        self, weight: torch.Tensor, bias: torch.Tensor | None, requires_grad: bool
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=requires_grad)
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=requires_grad)

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


def _linears(net: nn.Module) -> dict[str, nn.Linear]:
    """The net's ``nn.Linear`` layers by name, in building order; refuses what cannot stack."""
    if not isinstance(net, STACKABLE):
        names = ", ".join(cls.__name__ for cls in STACKABLE)
        raise ValueError(f"members: {type(net).__name__} cannot be stacked (only {names})")
    linears = {}
    for name, module in net.named_modules():
        if isinstance(module, nn.Linear):
            linears[name] = module
        elif next(module.parameters(recurse=False), None) is not None:
            raise ValueError(f"members: {type(module).__name__} layers cannot be stacked")
    return linears


def _seed(seed: int) -> None:
    L.seed_everything(seed, workers=True, verbose=False)


def build_stacked(build: Callable[[], nn.Module], seeds: Sequence[int]) -> nn.Module:
    """The net of members ``seeds``, member k as its single run builds it (seed, then
    ``build()``), without building K nets: each layer's K weights are one tensor, member k's
    slice drawn by the layer's own ``reset_parameters`` after seeding the generator with its
    seed. That is building's draws when the member-0 slice equals a built net bit for bit; a
    net whose weights do not depend on the seed (``ExactMax``) is repeated instead."""
    _seed(seeds[0])
    first = build()
    linears = _linears(first)
    members = len(seeds)
    scratch = {name: copy.deepcopy(layer) for name, layer in linears.items()}
    weights = {name: torch.empty(members, *layer.weight.t().shape, dtype=layer.weight.dtype)
               for name, layer in linears.items()}  # fmt: skip
    biases = {name: torch.empty(members, 1, *layer.bias.shape, dtype=layer.bias.dtype)
              for name, layer in linears.items() if layer.bias is not None}  # fmt: skip

    def draw(k: int, seed: int) -> None:
        torch.default_generator.manual_seed(seed)  # the generator building draws from
        for name, layer in scratch.items():
            layer.reset_parameters()
            weights[name][k].copy_(layer.weight.detach().t())
            if name in biases:
                biases[name][k, 0].copy_(layer.bias.detach())

    def drawn(k: int):  # member k's parameters, in the net's order and shapes
        for name in linears:
            yield weights[name][k].t()
            if name in biases:
                yield biases[name][k, 0]

    draw(0, seeds[0])
    if all(torch.equal(a, b) for a, b in zip(first.parameters(), drawn(0), strict=True)):
        for k, seed in enumerate(seeds[1:], start=1):
            draw(k, seed)
    else:
        _seed(seeds[1])
        second = build()
        pairs = zip(first.parameters(), second.parameters(), strict=True)
        if not all(torch.equal(a, b) for a, b in pairs):
            raise ValueError(f"members: {type(first).__name__}'s initial weights cannot be "
                             "drawn per seed by its layers' reset_parameters")  # fmt: skip
        for name, layer in linears.items():
            weights[name].copy_(layer.weight.detach().t())
            if name in biases:
                biases[name].copy_(layer.bias.detach())
    _seed(seeds[-1])  # the generators as after building the last member's net
    build()
    stacked = first
    for name, layer in linears.items():
        grad = layer.weight.requires_grad
        _replace(stacked, name, StackedLinear(weights[name], biases.get(name), grad))
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
