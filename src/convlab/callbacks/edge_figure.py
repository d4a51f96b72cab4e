"""Writes the edge-detection demo of the ``edge_kernel`` experiment as a PNG and to TensorBoard."""

import logging
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from matplotlib.figure import Figure

from convlab.basics.edge_demo import edge_figure
from convlab.callbacks.tb_writer import tensorboard_writer
from convlab.data.edges import edge_image
from convlab.data.fashion_mnist import SYSTEM_DIR, locate_fashion_mnist
from convlab.data.idx import read_idx
from convlab.errors import ConvlabError

log = logging.getLogger(__name__)
# As the other figures: 440 px wide at 100 dpi, read at TensorBoard's card size.
WIDTH_IN, ROW_IN, DPI = 4.4, 1.6, 100


def fashion_image(data_dir: str | None, system_dir: str | None, index: int) -> torch.Tensor | None:
    """Test image ``index`` in [0, 1], ``None`` if not found (a demo is no reason to download)."""
    try:
        files = locate_fashion_mnist(data_dir, system_dir, download=False)
        images = read_idx(files.test_images, expected_ndim=3)
    except ConvlabError as error:
        log.info("edge figure: Fashion-MNIST not found, drawing the example image only (%s)",
                 str(error).splitlines()[0])  # fmt: skip
        return None
    if not 0 <= index < images.shape[0]:
        raise ConvlabError(f"callbacks.edge_figure.fashion_index={index}: the test set has "
                           f"{images.shape[0]} images")  # fmt: skip
    return images[index].float() / 255


class EdgeFigure(Callback):
    """At fit start, the ``[1, -1]`` kernel on the example image and on a Fashion-MNIST test
    image, saved at ``path`` and added to TensorBoard."""

    def __init__(
        self, path: str, fashion_data_dir: str | None = None,
        fashion_system_dir: str | None = SYSTEM_DIR, fashion_index: int = 0,
    ) -> None:  # fmt: skip
        self.path, self.fashion_index = Path(path), fashion_index
        self.fashion_data_dir, self.fashion_system_dir = fashion_data_dir, fashion_system_dir

    def figure(self) -> Figure:
        images = {"example": edge_image()}
        fashion = fashion_image(self.fashion_data_dir, self.fashion_system_dir, self.fashion_index)
        if fashion is not None:
            images[f"test image {self.fashion_index}"] = fashion  # short: a title per panel
        figure = edge_figure(images)
        figure.set_size_inches(WIDTH_IN, ROW_IN * len(images))
        figure.set_dpi(DPI)
        return figure

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        figure = self.figure()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(self.path, dpi=DPI)
        log.info("edge figure: %s", self.path)
        writer = tensorboard_writer(trainer)
        if writer is not None:
            writer.add_figure("edge_detection", figure, global_step=0, close=False)
