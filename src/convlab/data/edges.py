"""D2L §6.2.4's toy image: white with a black vertical band, and its vertical edges as target."""

from collections.abc import Sequence

import lightning as L
import torch
from pydantic import PositiveInt

from convlab.basics.corr2d import corr2d
from convlab.data.tensor_loader import TensorLoader
from convlab.errors import ConvlabError


def edge_image(
    height: int = 6, width: int = 8, dark_from: int = 2, dark_to: int = 6
) -> torch.Tensor:
    X = torch.ones(height, width)
    X[:, dark_from:dark_to] = 0
    return X


class EdgeDataModule(L.LightningDataModule):
    """One batch ``(X, Y = corr2d(X, target_kernel))`` of shapes ``(1, 1, h, w)``, ``(1, 1, oh,
    ow)``: one epoch is one step; val and test score the current kernel on the same image."""

    def __init__(
        self,
        height: PositiveInt = 6,
        width: PositiveInt = 8,
        dark_from: int = 2,
        dark_to: int = 6,
        target_kernel: Sequence[Sequence[float]] = ((1.0, -1.0),),
    ) -> None:
        super().__init__()
        if not 0 <= dark_from <= dark_to <= width:
            raise ConvlabError(
                f"data.dark_from={dark_from}, data.dark_to={dark_to}: need "
                f"0 <= dark_from <= dark_to <= width ({width})"
            )
        # Plain lists, not the config's ListConfig: hparams go into checkpoints, which
        # torch.load(weights_only=True) must be able to read back.
        target_kernel = [[float(v) for v in row] for row in target_kernel]
        rows = {len(row) for row in target_kernel}
        kernel = torch.tensor(target_kernel if len(rows) == 1 else [])  # ragged: empty
        if not kernel.numel() or kernel.shape[0] > height or kernel.shape[1] > width:
            raise ConvlabError(
                "data.target_kernel must be a non-empty rectangular 2-D list no larger than the "
                f"{height}x{width} image, got {target_kernel}"
            )
        self.save_hyperparameters()
        self.image = edge_image(height, width, dark_from, dark_to)
        self.kernel = kernel
        self.target = corr2d(self.image, kernel)
        self.input_shape, self.target_shape = (1, *self.image.shape), (1, *self.target.shape)

    def train_dataloader(self) -> TensorLoader:
        return TensorLoader(self.image[None, None], self.target[None, None], batch_size=1)

    val_dataloader = test_dataloader = train_dataloader
