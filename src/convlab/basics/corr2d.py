"""Two-dimensional cross-correlation (D2L §6.2), the operation a "convolutional" layer computes."""

from collections.abc import Sequence

import torch

Size = int | tuple[int, int]  # one size for both axes, or (height, width)


def pair(value: int | Sequence[int]) -> tuple[int, int]:
    """``3`` → ``(3, 3)``; ``(1, 2)`` → ``(1, 2)``."""
    if isinstance(value, int):
        return value, value
    first, second = value
    return int(first), int(second)


def corr2d(X: torch.Tensor, K: torch.Tensor, stride: Size = 1) -> torch.Tensor:
    """``Y[i, j] = sum_{a, b} X[i * s_h + a, j * s_w + b] * K[a, b]`` (D2L's ``corr2d`` has
    stride 1); leading dims of ``K`` broadcast against ``X``'s: ``(c, kh, kw)`` correlates
    channel ``i`` with ``K[i]``.
    """
    kh, kw = K.shape[-2:]
    sh, sw = pair(stride)
    h, w = X.shape[-2:]
    if kh > h or kw > w:
        raise ValueError(f"kernel {kh}x{kw} is larger than the input {h}x{w}")
    # Every window at once instead of the book's loop over output pixels: (..., oh, ow, kh, kw).
    windows = X.unfold(-2, kh, sh).unfold(-2, kw, sw)
    # K gains two axes for (oh, ow) so its leading dims line up with those of X.
    return (windows * K[..., None, None, :, :]).sum(dim=(-2, -1))
