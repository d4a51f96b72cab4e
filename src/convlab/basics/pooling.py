"""Maximum and average pooling (D2L §6.5), with padding and stride."""

from typing import Literal

import torch

from convlab.basics.corr2d import Size, pair
from convlab.basics.padding_stride import pad2d

PoolMode = Literal["max", "avg"]


def pool2d(
    X: torch.Tensor,
    pool_size: Size,
    mode: PoolMode = "max",
    padding: Size = 0,
    stride: Size | None = None,
) -> torch.Tensor:
    """The max or mean of each window, per channel. ``stride`` defaults to ``pool_size`` as in
    ``nn.MaxPool2d`` (D2L's from-scratch one is ``stride=1``); padding is ``-inf`` for max and
    0 for avg, whose divisor stays ``ph * pw`` (``count_include_pad=True``).
    """
    ph, pw = pair(pool_size)
    sh, sw = pair(pool_size if stride is None else stride)
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    X = pad2d(X, padding, value=float("-inf") if mode == "max" else 0.0)
    if ph > X.shape[-2] or pw > X.shape[-1]:
        raise ValueError(f"pool {ph}x{pw} is larger than the padded input {tuple(X.shape[-2:])}")
    windows = X.unfold(-2, ph, sh).unfold(-2, pw, sw)
    if mode == "max":
        return windows.amax(dim=(-2, -1))
    return windows.mean(dim=(-2, -1))
