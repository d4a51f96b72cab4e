"""2x2 patches and their maximum: the data for "can a learnable layer be max pooling?".

Inputs are ``(N, 1, 2, 2)`` float32 patches, targets their max as ``(N, 1)``. Two sources:

- ``random``: entries uniform in (``low``, ``high``) for training and validation; the test
  split is drawn from (``test_low``, ``test_high``) (the training range when unset), so a run
  can ask whether a net that learned the max generalises outside the range it saw.
- ``fashion_mnist``: the patches max pooling meets in LeNet's input, cut from real
  Fashion-MNIST images (pixels in [0, 1]) on the stride-2 grid of a 2x2 pooling: training and
  validation patches from disjoint images of the training file (the 5,000 validation images
  of ``FashionMNISTDataModule``'s default split), test patches from the test file. Many are
  blank background (max 0), as in the images. (Patches of LeNet's first feature maps would
  need a trained LeNet per run; the pixels are the question's plainest form.)

Each split has its own fixed generator: the data never depend on the run's seed. No
normalisation: ``max`` commutes with any increasing affine map, so it would not change the
question, and the targets stay in the units of the inputs.
"""

from __future__ import annotations

from typing import Literal

import lightning as L
import torch
from pydantic import PositiveInt

from convlab.data.fashion_mnist import SYSTEM_DIR, load_fashion_mnist, locate_fashion_mnist
from convlab.data.tensor_loader import TensorLoader
from convlab.errors import ConvlabError

Source = Literal["random", "fashion_mnist"]
SPLITS = ("train", "val", "test")
# FashionMNISTDataModule's defaults (conf/data/fashion_mnist.yaml): the same held-out images.
VAL_IMAGES, SPLIT_SEED = 5000, 42


def random_patches(n: int, low: float, high: float, seed: int) -> torch.Tensor:
    """``n`` patches ``(n, 1, 2, 2)`` with entries uniform in (low, high)."""
    generator = torch.Generator().manual_seed(seed)
    u = torch.rand(n, 1, 2, 2, generator=generator, dtype=torch.float64)
    return (low + (high - low) * u).to(torch.float32)


def image_patches(images: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """``n`` patches ``(n, 1, 2, 2)`` from ``images`` ``(M, H, W)`` uint8, scaled to [0, 1]:
    a random image and a random window of the stride-2 pooling grid for each."""
    generator = torch.Generator().manual_seed(seed)
    count, height, width = images.shape
    image = torch.randint(count, (n,), generator=generator)
    row = 2 * torch.randint(height // 2, (n,), generator=generator)
    col = 2 * torch.randint(width // 2, (n,), generator=generator)
    rows = row[:, None, None] + torch.arange(2)[None, :, None]
    cols = col[:, None, None] + torch.arange(2)[None, None, :]
    patches = images[image[:, None, None], rows, cols]
    return patches.unsqueeze(1).to(torch.float32) / 255.0


def patch_max(patches: torch.Tensor) -> torch.Tensor:
    """The target: each patch's max, ``(N, 1)``."""
    return patches.amax(dim=(-2, -1)).reshape(-1, 1)


class PatchMaxDataModule(L.LightningDataModule):
    """2x2 patches ``(N, 1, 2, 2)`` and their max ``(N, 1)``, from ``source``."""

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
        if not self.test_range[0] < self.test_range[1]:  # data.low < data.high: the config check
            raise ConvlabError(f"data: need test_low < test_high, got {self.test_range}")
        self.splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def test_range(self) -> tuple[float, float]:
        hp = self.hparams
        low = hp.low if hp.test_low is None else hp.test_low
        high = hp.high if hp.test_high is None else hp.test_high
        return low, high

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
        hp = self.hparams
        sizes = {"train": hp.n_train, "val": hp.n_val, "test": hp.n_test}
        seeds = {"train": hp.train_seed, "val": hp.val_seed, "test": hp.test_seed}
        if hp.source == "fashion_mnist":
            images = self._fashion_mnist_images()
            patches = {s: image_patches(images[s], sizes[s], seeds[s]) for s in SPLITS}
        else:
            ranges = {"train": (hp.low, hp.high), "val": (hp.low, hp.high), "test": self.test_range}
            patches = {s: random_patches(sizes[s], *ranges[s], seeds[s]) for s in SPLITS}
        self.splits = {s: (x, patch_max(x)) for s, x in patches.items()}

    def task_facts(self) -> dict:
        """Targets are in the inputs' own units: nothing to convert back."""
        return {"target_shift": 0.0, "target_scale": 1.0}

    def _loader(self, split: str, shuffle: bool) -> TensorLoader:
        x, y = self.splits[split]
        seed = self.hparams.shuffle_seed
        if seed is None:
            seed = torch.initial_seed()
        rank, world_size = 0, 1
        if self.trainer is not None:
            rank, world_size = self.trainer.global_rank, self.trainer.world_size
        size = self.hparams.batch_size if split == "train" else self.hparams.eval_batch_size
        return TensorLoader(
            x, y, batch_size=size, shuffle=shuffle, seed=seed, rank=rank, world_size=world_size
        )

    def train_dataloader(self) -> TensorLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> TensorLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> TensorLoader:
        return self._loader("test", shuffle=False)
