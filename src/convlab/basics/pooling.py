"""Maximum and average pooling (D2L §6.5), with padding and stride."""

from __future__ import annotations

from typing import Literal

import torch

from convlab.basics.corr2d import pair
from convlab.basics.padding_stride import pad2d

PoolMode = Literal["max", "avg"]


def pool2d(
    X: torch.Tensor,
    pool_size: int | tuple[int, int],
    mode: PoolMode = "max",
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] | None = None,
) -> torch.Tensor:
    """The maximum or the mean of each window; every channel is pooled on its own.

    1. ``X``: ``(h, w)`` or ``(..., h, w)`` — leading (batch, channel) dims are kept.
    2. ``stride`` defaults to ``pool_size`` (non-overlapping windows), as in ``nn.MaxPool2d``;
       D2L's from-scratch ``pool2d`` slides one pixel at a time, which is ``stride=1``.
    3. Padding counts as ``-inf`` for max (never chosen) and as ``0`` for avg, whose divisor stays
       ``ph * pw`` — ``F.max_pool2d`` / ``F.avg_pool2d`` (``count_include_pad=True``) semantics.
    4. Returns ``(..., oh, ow)``, sized by ``conv_output_shape`` with the same arguments.
    """
    ph, pw = pair(pool_size)
    sh, sw = pair(pool_size if stride is None else stride)
    if mode == "max":
        X = pad2d(X, padding, value=float("-inf"))
    elif mode == "avg":
        X = pad2d(X, padding, value=0.0)
    else:
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    if ph > X.shape[-2] or pw > X.shape[-1]:
        raise ValueError(f"pool {ph}x{pw} is larger than the padded input {tuple(X.shape[-2:])}")
    # (..., oh, ow, ph, pw): every window at once, as in corr2d.
    windows = X.unfold(-2, ph, sh).unfold(-2, pw, sw)
    if mode == "max":
        return windows.amax(dim=(-2, -1))
    return windows.mean(dim=(-2, -1))
