"""Padding and stride (D2L §6.3): the output-shape formula, zero padding, strided correlation."""

import torch

from convlab.basics.corr2d import Size, corr2d, pair


def conv_output_shape(
    input_size: Size, kernel_size: Size, padding: Size = 0, stride: Size = 1
) -> tuple[int, int]:
    """Per axis ``floor((n + 2 p - k) / s) + 1``, ``p`` the padding on *each* side (D2L's
    ``floor((n_h - k_h + p_h + s_h) / s_h)`` with the total ``p_h = 2 p``)."""
    out = []
    for n, k, p, s in zip(
        pair(input_size), pair(kernel_size), pair(padding), pair(stride), strict=True
    ):
        if s < 1 or p < 0:
            raise ValueError(f"stride must be >= 1 and padding >= 0, got stride {s}, padding {p}")
        if n + 2 * p < k:
            raise ValueError(f"kernel size {k} exceeds the padded input size {n} + 2*{p}")
        out.append((n + 2 * p - k) // s + 1)
    return out[0], out[1]


def pad2d(X: torch.Tensor, padding: Size, value: float = 0.0) -> torch.Tensor:
    """``padding`` rows/columns of ``value`` on each side of the last two axes."""
    ph, pw = pair(padding)
    h, w = X.shape[-2:]
    padded = X.new_full((*X.shape[:-2], h + 2 * ph, w + 2 * pw), value)
    padded[..., ph : ph + h, pw : pw + w] = X
    return padded


def corr2d_pad_stride(
    X: torch.Tensor, K: torch.Tensor, padding: Size = 0, stride: Size = 1
) -> torch.Tensor:
    """Cross-correlation of the zero-padded input: one channel of ``F.conv2d``."""
    return corr2d(pad2d(X, padding), K, stride=stride)
