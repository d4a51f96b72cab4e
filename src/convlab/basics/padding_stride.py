"""Padding and stride (D2L §6.3): the output-shape formula, zero padding, strided correlation."""

from __future__ import annotations

import torch

from convlab.basics.corr2d import corr2d, pair


def conv_output_shape(
    input_size: int | tuple[int, int],
    kernel_size: int | tuple[int, int],
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> tuple[int, int]:
    """Height and width of a convolution's (or pooling's) output.

    1. Per axis: ``out = floor((n + 2 p - k) / s) + 1`` with ``p`` the padding on *each* side.
       D2L writes it with the total padding ``p_h = 2 p``: ``floor((n_h - k_h + p_h + s_h) / s_h)``.
    2. Shapes: ``input_size`` ``(h, w)``, ``kernel_size`` ``(kh, kw)``; ints mean square.
    3. Raises ``ValueError`` when the padded input is smaller than the kernel.
    """
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


def pad2d(X: torch.Tensor, padding: int | tuple[int, int], value: float = 0.0) -> torch.Tensor:
    """Surround the last two axes with ``padding`` rows/columns of ``value`` on each side.

    1. ``X``: ``(..., h, w)``; ``padding``: ``(p_h, p_w)`` per side, an int means both.
    2. Returns ``(..., h + 2 p_h, w + 2 p_w)``; differentiable with respect to ``X``.
    """
    ph, pw = pair(padding)
    h, w = X.shape[-2:]
    padded = X.new_full((*X.shape[:-2], h + 2 * ph, w + 2 * pw), value)
    padded[..., ph : ph + h, pw : pw + w] = X
    return padded


def corr2d_pad_stride(
    X: torch.Tensor,
    K: torch.Tensor,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """Cross-correlation of a zero-padded input, moving the window ``stride`` pixels at a time.

    1. ``X``: ``(..., h, w)``; ``K``: ``(kh, kw)`` (or broadcastable leading dims, see ``corr2d``).
    2. Returns ``(..., oh, ow)`` with ``(oh, ow) = conv_output_shape((h, w), K.shape[-2:],
       padding, stride)``; equals ``F.conv2d(X, K, padding=padding, stride=stride)`` for one
       channel.
    """
    return corr2d(pad2d(X, padding), K, stride=stride)
