"""A learnable convolutional layer built on ``corr2d`` (D2L §6.2.3), shaped like ``nn.Conv2d``."""

import math

import torch
from torch import nn

from convlab.basics.channels import corr2d_multi_in_out
from convlab.basics.corr2d import pair


class Conv2D(nn.Module):
    """Cross-correlation with a learnable ``(c_o, c_i, kh, kw)`` kernel and ``(c_o,)`` bias,
    initialised with ``nn.Conv2d``'s draws, so under one seed both start from the same kernel."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        in_channels: int = 1,
        out_channels: int = 1,
        padding: int | tuple[int, int] = 0,
        stride: int | tuple[int, int] = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size)
        self.padding = pair(padding)
        self.stride = pair(stride)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # nn.Conv2d's own recipe (kaiming_uniform_ with a=sqrt(5) is uniform ±1/sqrt(fan_in)).
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight[0].numel()
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = corr2d_multi_in_out(x, self.weight, padding=self.padding, stride=self.stride)
        if self.bias is not None:
            y = y + self.bias[:, None, None]
        return y

    def extra_repr(self) -> str:
        c_o, c_i = self.weight.shape[:2]
        return (
            f"kernel_size={self.kernel_size}, in_channels={c_i}, out_channels={c_o}, "
            f"padding={self.padding}, stride={self.stride}, bias={self.bias is not None}"
        )
