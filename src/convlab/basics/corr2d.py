"""Two-dimensional cross-correlation (D2L §6.2), the operation a "convolutional" layer computes."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def pair(value: int | Sequence[int]) -> tuple[int, int]:
    """``3`` → ``(3, 3)``; ``(1, 2)`` → ``(1, 2)``: sizes given once for both axes or per axis."""
    if isinstance(value, int):
        return value, value
    first, second = value
    return int(first), int(second)


def corr2d(X: torch.Tensor, K: torch.Tensor, stride: int | tuple[int, int] = 1) -> torch.Tensor:
    """Slide ``K`` over ``X``: each output is a window of ``X`` times ``K``, summed.

    1. ``Y[i, j] = sum_{a, b} X[i * s_h + a, j * s_w + b] * K[a, b]`` — D2L's ``corr2d`` (which
       has ``stride = 1``), without padding.
    2. ``X``: ``(h, w)`` or ``(..., h, w)``; ``K``: ``(kh, kw)``. Leading dimensions of ``K``
       broadcast against those of ``X``: ``K`` of shape ``(c, kh, kw)`` with ``X`` of shape
       ``(..., c, h, w)`` correlates channel ``i`` with ``K[i]``.
    3. Returns ``(..., oh, ow)`` with ``oh = (h - kh) // s_h + 1``, ``ow = (w - kw) // s_w + 1``.
    """
    kh, kw = K.shape[-2:]
    sh, sw = pair(stride)
    h, w = X.shape[-2:]
    if kh > h or kw > w:
        raise ValueError(f"kernel {kh}x{kw} is larger than the input {h}x{w}")
    # unfold cuts every window at once instead of the book's Python loop over output pixels:
    # (..., h, w) → (..., oh, w, kh) → (..., oh, ow, kh, kw).
    windows = X.unfold(-2, kh, sh).unfold(-2, kw, sw)
    # K gains two axes for (oh, ow) so its leading dims line up with those of X.
    return (windows * K[..., None, None, :, :]).sum(dim=(-2, -1))
