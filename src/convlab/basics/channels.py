"""Multiple input and output channels (D2L §6.4), and the 1x1 convolution as a dense layer."""

import torch

from convlab.basics.corr2d import Size
from convlab.basics.padding_stride import corr2d_pad_stride, pad2d


def corr2d_multi_in(
    X: torch.Tensor, K: torch.Tensor, padding: Size = 0, stride: Size = 1
) -> torch.Tensor:
    """Correlate each input channel with its kernel slice, then add: ``(..., c_i, h, w)`` and
    ``(c_i, kh, kw)`` → ``(..., oh, ow)``."""
    if X.shape[-3] != K.shape[0]:
        raise ValueError(f"input has {X.shape[-3]} channels but the kernel has {K.shape[0]}")
    return corr2d_pad_stride(X, K, padding, stride).sum(dim=-3)


def corr2d_multi_in_out(
    X: torch.Tensor, K: torch.Tensor, padding: Size = 0, stride: Size = 1
) -> torch.Tensor:
    """One multi-input correlation per output channel, stacked, as ``F.conv2d``: ``(..., c_i, h,
    w)`` and ``(c_o, c_i, kh, kw)`` → ``(..., c_o, oh, ow)``."""
    X = pad2d(X, padding)  # once, not once per output channel
    return torch.stack([corr2d_multi_in(X, k, stride=stride) for k in K], dim=-3)


def corr2d_multi_in_out_1x1(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution as one matrix product with the ``(c_o, c_i)`` weight over pixels as
    columns: it mixes channels, never neighbouring pixels."""
    c_o, c_i, kh, kw = K.shape
    if (kh, kw) != (1, 1):
        raise ValueError(f"expected a 1x1 kernel, got {kh}x{kw}")
    h, w = X.shape[-2:]
    Y = K.reshape(c_o, c_i) @ X.reshape(*X.shape[:-2], h * w)
    return Y.reshape(*X.shape[:-3], c_o, h, w)
