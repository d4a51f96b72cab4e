"""The first convolution layer's kernels as an image in TensorBoard, as training moves them."""

from __future__ import annotations

import logging
import math

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from matplotlib import colormaps
from matplotlib.figure import Figure
from torch import nn

from convlab.callbacks.tb_writer import figure_to_chw, tensorboard_writer

log = logging.getLogger(__name__)


def first_conv(module: nn.Module) -> nn.Conv2d | None:
    """The first ``nn.Conv2d`` in registration order, which for LeNet is the input layer."""
    return next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)


def filter_grid(weight: torch.Tensor, max_tiles: int = 64) -> tuple[np.ndarray, float]:
    """``(out, in, kh, kw)`` kernels → one ``(H, W)`` array of tiles (NaN between them) and the
    largest magnitude shown.

    One tile per (out, in) pair, rows of ``in`` tiles (at least 8 wide for a one-channel
    input, as LeNet's first layer). All tiles share one symmetric scale, so 0 is the same
    neutral colour everywhere and a colour bar can read in weight units.
    """
    _, in_channels, kh, kw = weight.shape
    tiles = weight.detach().float().cpu().reshape(-1, kh, kw)[:max_tiles].numpy()
    columns = in_channels if in_channels > 1 else min(len(tiles), 8)
    rows = math.ceil(len(tiles) / columns)
    gap = 1
    grid = np.full((rows * (kh + gap) - gap, columns * (kw + gap) - gap), np.nan)
    for index, tile in enumerate(tiles):
        row, col = divmod(index, columns)
        grid[row * (kh + gap) : row * (kh + gap) + kh, col * (kw + gap) : col * (kw + gap) + kw] = (
            tile
        )
    limit = float(np.abs(tiles).max()) if tiles.size else 0.0
    return grid, max(limit, 1e-12)


def filter_figure(weight: torch.Tensor, max_tiles: int = 64) -> Figure:
    """The kernels in red (positive) and blue (negative) with a colour bar in weight units."""
    grid, limit = filter_grid(weight, max_tiles)
    out_channels, in_channels, kh, kw = weight.shape
    height, width = grid.shape
    figure = Figure(figsize=(4.4, max(1.6, 3.6 * height / width + 0.7)), dpi=100,
                    layout="constrained")  # fmt: skip
    ax = figure.subplots()
    cmap = colormaps["RdBu_r"].with_extremes(bad="white")
    image = ax.imshow(grid, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_axis_off()
    shown = min(out_channels * in_channels, max_tiles)
    ax.set_title(f"{shown} kernels {kh}×{kw} (out × in channels {out_channels}×{in_channels})",
                 fontsize=9)  # fmt: skip
    colorbar = figure.colorbar(image, ax=ax, shrink=0.9, pad=0.02)
    colorbar.set_label("weight", fontsize=9)
    colorbar.ax.tick_params(labelsize=8)
    return figure


class ConvFilters(Callback):
    """Log the first ``Conv2d``'s kernels as ``filters/first_conv`` before training and every
    ``every_n_epochs`` epochs (red positive, blue negative, one scale for all, with its colour
    bar).
    """

    def __init__(self, every_n_epochs: int = 1, max_tiles: int = 64) -> None:
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}")
        self.every_n_epochs = every_n_epochs
        self.max_tiles = max_tiles

    def _log(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None:
            return
        conv = first_conv(pl_module)
        if conv is None:
            log.info("conv_filters: the model has no Conv2d; nothing to draw")
            return
        figure = filter_figure(conv.weight, max_tiles=self.max_tiles)
        writer.add_image("filters/first_conv", figure_to_chw(figure), trainer.global_step)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(trainer, pl_module)  # the initial weights, to compare against

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        last = trainer.current_epoch + 1 >= (trainer.max_epochs or 0)
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0 or last:
            self._log(trainer, pl_module)
