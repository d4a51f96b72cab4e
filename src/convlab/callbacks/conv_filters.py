"""The first convolution layer's kernels as an image in TensorBoard, as training moves them."""

from __future__ import annotations

import logging

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from matplotlib import colormaps
from torch import nn
from torch.nn import functional as F
from torchvision.utils import make_grid

from convlab.callbacks.tb_writer import tensorboard_writer

log = logging.getLogger(__name__)


def first_conv(module: nn.Module) -> nn.Conv2d | None:
    """The first ``nn.Conv2d`` in registration order, which for LeNet is the input layer."""
    return next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)


def filter_grid(weight: torch.Tensor, scale: int = 8, max_tiles: int = 64) -> torch.Tensor:
    """``(out, in, kh, kw)`` kernels → ``(3, H, W)`` float image, one tile per (out, in) pair.

    Each tile is divided by its own largest magnitude and coloured with a diverging map, so 0 is
    the same neutral colour in every tile and the sign of each weight is visible; a plain
    min-max scaling would put 0 at a different grey in each tile. Rows are output channels.
    """
    out_channels, in_channels, kh, kw = weight.shape
    tiles = weight.detach().float().cpu().reshape(-1, kh, kw)[:max_tiles]
    limit = tiles.abs().amax(dim=(1, 2), keepdim=True).clamp_min(1e-12)
    unit = (tiles / limit + 1) / 2  # [-1, 1] → [0, 1]
    rgb = torch.from_numpy(colormaps["RdBu_r"](unit.numpy())[..., :3]).float()
    rgb = rgb.permute(0, 3, 1, 2)  # (tiles, 3, kh, kw)
    # Nearest-neighbour upsampling keeps each weight a crisp square at readable size.
    rgb = F.interpolate(rgb, scale_factor=scale, mode="nearest")
    return make_grid(rgb, nrow=max(in_channels, min(out_channels, 8)), padding=2, pad_value=1.0)


class ConvFilters(Callback):
    """Log the first ``Conv2d``'s kernels as ``filters/first_conv`` before training and every
    ``every_n_epochs`` epochs (red positive, blue negative, each tile scaled to its own range).
    """

    def __init__(self, every_n_epochs: int = 1, scale: int = 12, max_tiles: int = 64) -> None:
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}")
        self.every_n_epochs = every_n_epochs
        self.scale = scale
        self.max_tiles = max_tiles

    def _log(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None:
            return
        conv = first_conv(pl_module)
        if conv is None:
            log.info("conv_filters: the model has no Conv2d; nothing to draw")
            return
        grid = filter_grid(conv.weight, scale=self.scale, max_tiles=self.max_tiles)
        writer.add_image("filters/first_conv", grid, global_step=trainer.global_step)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log(trainer, pl_module)  # the initial weights, to compare against

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        last = trainer.current_epoch + 1 >= (trainer.max_epochs or 0)
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0 or last:
            self._log(trainer, pl_module)
