"""The first convolution layer's kernels as an image in TensorBoard, as training moves them."""

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
    """In registration order: LeNet's input layer."""
    return next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)


def filter_grid(weight: torch.Tensor, max_tiles: int = 64) -> tuple[np.ndarray, float]:
    """One ``(H, W)`` array of ``(kh, kw)`` tiles, NaN between them, rows of ``in`` tiles (8 for
    one input channel), and the largest magnitude: one symmetric scale for all tiles, so 0 is
    the same neutral colour everywhere and the colour bar reads in weight units."""
    _, in_channels, kh, kw = weight.shape
    tiles = weight.detach().float().cpu().reshape(-1, kh, kw)[:max_tiles].numpy()
    columns = in_channels if in_channels > 1 else min(len(tiles), 8)
    rows = math.ceil(len(tiles) / columns)
    grid = np.full((rows * (kh + 1) - 1, columns * (kw + 1) - 1), np.nan)  # 1 px gaps
    for index, tile in enumerate(tiles):
        row, col = divmod(index, columns)
        top, left = row * (kh + 1), col * (kw + 1)
        grid[top : top + kh, left : left + kw] = tile
    limit = float(np.abs(tiles).max()) if tiles.size else 0.0
    return grid, max(limit, 1e-12)


def filter_figure(weight: torch.Tensor, max_tiles: int = 64) -> Figure:
    """Red positive, blue negative."""
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
    """``filters/first_conv`` before training, every ``every_n_epochs`` epochs and at the last."""

    def __init__(self, every_n_epochs: int = 1, max_tiles: int = 64) -> None:
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}")
        self.every_n_epochs, self.max_tiles = every_n_epochs, max_tiles

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None:
            return
        if (conv := first_conv(pl_module)) is None:
            log.info("conv_filters: the model has no Conv2d; nothing to draw")
            return
        figure = filter_figure(conv.weight, max_tiles=self.max_tiles)
        writer.add_image("filters/first_conv", figure_to_chw(figure), trainer.global_step)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        last = trainer.current_epoch + 1 >= (trainer.max_epochs or 0)
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0 or last:
            self.on_train_start(trainer, pl_module)
