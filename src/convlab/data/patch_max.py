"""2x2 patches ``(N, 1, 2, 2)`` and their max ``(N, 1)``: can a learnable layer be max pooling?

``random``: uniform in (``low``, ``high``); the test split in (``test_low``, ``test_high``), to
ask whether the learned max generalises outside the range it saw. ``fashion_mnist``: windows of
LeNet's 2x2 pooling grid on real images, train/val from disjoint images (val: the images
``FashionMNISTDataModule`` holds out), test from the test file. Each split has its own fixed
generator; no normalisation (``max`` commutes with increasing affine maps).
"""

from typing import Literal

import torch
from pydantic import PositiveInt

from convlab.data.fashion_mnist import SYSTEM_DIR, load_fashion_mnist, locate_fashion_mnist
from convlab.data.pairs import split_draws, uniform
from convlab.data.tensor_loader import TensorDataModule
from convlab.errors import ConvlabError

Source = Literal["random", "fashion_mnist"]
# FashionMNISTDataModule's defaults (conf/data/fashion_mnist.yaml): the same held-out images.
VAL_IMAGES, SPLIT_SEED = 5000, 42


def image_patches(images: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """``n`` random windows of the stride-2 grid of random ``images`` (M, H, W), in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    count, height, width = images.shape
    image = torch.randint(count, (n,), generator=generator)
    row = 2 * torch.randint(height // 2, (n,), generator=generator)
    col = 2 * torch.randint(width // 2, (n,), generator=generator)
    rows = row[:, None, None] + torch.arange(2)[None, :, None]
    cols = col[:, None, None] + torch.arange(2)[None, None, :]
    patches = images[image[:, None, None], rows, cols]
    return patches.unsqueeze(1).to(torch.float32) / 255.0


class PatchMaxDataModule(TensorDataModule):
    input_shape, target_shape = (1, 2, 2), (1,)

    def __init__(
        self,
        source: Source = "random",
        n_train: PositiveInt = 10000,
        n_val: PositiveInt = 1000,
        n_test: PositiveInt = 1000,
        low: float = 0.0,
        high: float = 1.0,
        test_low: float | None = None,
        test_high: float | None = None,
        data_dir: str | None = None,
        system_dir: str | None = SYSTEM_DIR,
        download: bool = True,
        batch_size: PositiveInt = 32,
        eval_batch_size: PositiveInt = 1000,
        train_seed: int = 0,
        val_seed: int = 1,
        test_seed: int = 2,
        shuffle_seed: int | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.test_range = (  # an unset test bound is the training range's
            low if test_low is None else test_low,
            high if test_high is None else test_high,
        )
        if not self.test_range[0] < self.test_range[1]:  # data.low < data.high: the config check
            raise ConvlabError(f"data: need test_low < test_high, got {self.test_range}")
        self.splits = {}

    def prepare_data(self) -> None:
        if self.hparams.source == "fashion_mnist":  # a missing data set fails here, early
            self._fashion_mnist_images()

    def _fashion_mnist_images(self) -> dict[str, torch.Tensor]:
        hp = self.hparams
        files = locate_fashion_mnist(hp.data_dir, hp.system_dir, hp.download)
        train_x, _, test_x, _ = load_fashion_mnist(files)
        order = torch.randperm(
            train_x.shape[0], generator=torch.Generator().manual_seed(SPLIT_SEED)
        )
        return {
            "train": train_x[order[VAL_IMAGES:]],
            "val": train_x[order[:VAL_IMAGES]],
            "test": test_x,
        }

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        hp, draws = self.hparams, split_draws(self.hparams)
        if hp.source == "fashion_mnist":
            images = self._fashion_mnist_images()
            patches = {s: image_patches(images[s], n, seed) for s, (n, seed) in draws.items()}
        else:
            ranges = {"train": (hp.low, hp.high), "val": (hp.low, hp.high), "test": self.test_range}
            patches = {s: uniform((n, 1, 2, 2), *ranges[s], seed) for s, (n, seed) in draws.items()}
        self.splits = {s: (x, x.amax(dim=(-2, -1)).reshape(-1, 1)) for s, x in patches.items()}

    def task_facts(self) -> dict:  # targets in the inputs' own units
        return {"target_shift": 0.0, "target_scale": 1.0}
