"""A learnable convolutional layer built on ``corr2d`` (D2L §6.2.3), shaped like ``nn.Conv2d``."""

import torch
from torch import nn

from convlab.basics.channels import corr2d_multi_in_out


class Conv2D(nn.Conv2d):
    """Cross-correlation with a learnable ``(c_o, c_i, kh, kw)`` kernel and ``(c_o,)`` bias. The
    parameters and their init are ``nn.Conv2d``'s, so under one seed both start from the same
    kernel; the forward pass is the from-scratch ``corr2d``."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        in_channels: int = 1,
        out_channels: int = 1,
        padding: int | tuple[int, int] = 0,
        stride: int | tuple[int, int] = 1,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = corr2d_multi_in_out(x, self.weight, padding=self.padding, stride=self.stride)
        if self.bias is not None:
            y = y + self.bias[:, None, None]
        return y

    def extra_repr(self) -> str:  # in this class's argument order: nn.Conv2d's starts with c_i
        return (
            f"kernel_size={self.kernel_size}, in_channels={self.in_channels}, "
            f"out_channels={self.out_channels}, padding={self.padding}, stride={self.stride}, "
            f"bias={self.bias is not None}"
        )
