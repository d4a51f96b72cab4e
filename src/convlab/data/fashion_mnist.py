"""Fashion-MNIST as in-memory tensors: located offline first, validated, decoded once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch

from convlab.data.idx import read_idx
from convlab.data.tensor_loader import TensorLoader
from convlab.errors import CorruptDataError, DataNotFoundError

log = logging.getLogger(__name__)

SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = (
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)  # fmt: skip
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# Mean and std of the 60,000 training images scaled to [0, 1].
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530


@dataclass(frozen=True)
class FashionMNISTFiles:
    train_images: Path
    train_labels: Path
    test_images: Path
    test_labels: Path


def _find_in(directory: Path) -> FashionMNISTFiles | None:
    """The four files in ``directory`` (or torchvision's ``FashionMNIST/raw`` below it)."""
    for candidate in (directory, directory / "FashionMNIST" / "raw"):
        found = {}
        for key, stem in FILES.items():
            for name in (stem, stem + ".gz"):
                if (candidate / name).is_file():
                    found[key] = candidate / name
                    break
        if len(found) == len(FILES):
            return FashionMNISTFiles(**found)
    return None


def _download(directory: Path) -> FashionMNISTFiles | None:
    try:
        from torchvision.datasets import FashionMNIST

        FashionMNIST(str(directory), train=True, download=True)
        FashionMNIST(str(directory), train=False, download=True)
    except Exception as error:  # any network or integrity failure means "not available"
        log.info("torchvision download failed: %s", error)
        return None
    return _find_in(directory)


def locate_fashion_mnist(
    data_dir: str | Path | None, system_dir: str | Path | None = SYSTEM_DIR, download: bool = True
) -> FashionMNISTFiles:
    """Find the IDX files: ``data_dir``, then the system copy, then torchvision's downloader."""
    tried = []
    if data_dir:
        found = _find_in(Path(data_dir))
        if found:
            return found
        tried.append(f"  1. data.data_dir={data_dir}: the four IDX files are not there")
    else:
        tried.append("  1. data.data_dir: not set")
    if system_dir:
        found = _find_in(Path(system_dir))
        if found:
            return found
        tried.append(
            f"  2. system copy {system_dir}: not installed "
            "(Debian/Ubuntu: apt-get install dataset-fashion-mnist)"
        )
    else:
        tried.append("  2. system copy: disabled (data.system_dir=null)")
    if download and data_dir:
        found = _download(Path(data_dir))
        if found:
            return found
        tried.append("  3. torchvision download into data.data_dir: failed (no internet?)")
    else:
        tried.append("  3. torchvision download: disabled (data.download=false)")
    raise DataNotFoundError(
        "Fashion-MNIST not found. Tried:\n" + "\n".join(tried) + "\n"
        "Fix one of them: put the four IDX files (train-images-idx3-ubyte, "
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, .gz or not) "
        "in data.data_dir, install the system package, or allow the download."
    )


_DECODED: dict[tuple, tuple[torch.Tensor, ...]] = {}


def load_fashion_mnist(files: FashionMNISTFiles) -> tuple[torch.Tensor, ...]:
    """Decode and validate; cached per process so a sweep decodes the files once."""
    key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in vars(files).values())
    if key not in _DECODED:
        train_x = read_idx(files.train_images, expected_ndim=3)
        train_y = read_idx(files.train_labels, expected_ndim=1)
        test_x = read_idx(files.test_images, expected_ndim=3)
        test_y = read_idx(files.test_labels, expected_ndim=1)
        for images, labels, split in ((train_x, train_y, "train"), (test_x, test_y, "test")):
            _check_split(images, labels, split, files)
        _DECODED.clear()
        _DECODED[key] = (train_x, train_y, test_x, test_y)
    return _DECODED[key]


def _check_split(images: torch.Tensor, labels: torch.Tensor, split: str, files) -> None:
    where = files.train_images.parent
    if tuple(images.shape[1:]) != (28, 28):
        raise CorruptDataError(f"{where}: {split} images are {tuple(images.shape[1:])}, not 28x28")
    if images.shape[0] != labels.shape[0]:
        raise CorruptDataError(
            f"{where}: {split} has {images.shape[0]} images but {labels.shape[0]} labels"
        )
    if labels.numel() and int(labels.max()) >= len(CLASS_NAMES):
        raise CorruptDataError(
            f"{where}: {split} labels range up to {int(labels.max())}, expected 0..9"
        )


class FashionMNISTDataModule(L.LightningDataModule):
    """Fashion-MNIST: 55,000 train / 5,000 val (fixed split) / the official 10,000 test.

    Images become ``float32`` in [0, 1] (or standardised with ``normalize``) of shape
    ``(N, 1, 28, 28)`` once, in ``setup``; batches are slices of those tensors.
    """

    class_names = CLASS_NAMES
    input_shape = (1, 28, 28)

    def __init__(
        self,
        data_dir: str | None = None,
        system_dir: str | None = SYSTEM_DIR,
        download: bool = True,
        batch_size: int = 256,
        eval_batch_size: int = 1024,
        val_size: int = 5000,
        split_seed: int = 42,
        normalize: bool = False,
        shuffle_seed: int | None = None,
        device: str = "cpu",
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.files: FashionMNISTFiles | None = None
        self.splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def prepare_data(self) -> None:
        """Locate and validate the files (no state kept: may run on one process only)."""
        files = locate_fashion_mnist(
            self.hparams.data_dir, self.hparams.system_dir, self.hparams.download
        )
        train_x, _, _, _ = load_fashion_mnist(files)
        if not 0 < self.hparams.val_size < train_x.shape[0]:
            raise CorruptDataError(
                f"data.val_size={self.hparams.val_size} must be between 1 and "
                f"{train_x.shape[0] - 1} (the training file holds {train_x.shape[0]} images)"
            )

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        self.files = locate_fashion_mnist(
            self.hparams.data_dir, self.hparams.system_dir, download=False
        )
        train_x, train_y, test_x, test_y = load_fashion_mnist(self.files)
        generator = torch.Generator().manual_seed(self.hparams.split_seed)
        order = torch.randperm(train_x.shape[0], generator=generator)
        val_idx, train_idx = order[: self.hparams.val_size], order[self.hparams.val_size :]
        device = torch.device(self.hparams.device)
        self.splits = {
            "train": (
                self._images(train_x[train_idx], device),
                train_y[train_idx].long().to(device),
            ),
            "val": (self._images(train_x[val_idx], device), train_y[val_idx].long().to(device)),
            "test": (self._images(test_x, device), test_y.long().to(device)),
        }

    def _images(self, images: torch.Tensor, device: torch.device) -> torch.Tensor:
        x = images.to(device=device, dtype=torch.float32).div_(255.0).unsqueeze(1)
        if self.hparams.normalize:
            x = x.sub_(PIXEL_MEAN).div_(PIXEL_STD)
        return x

    def _loader(self, split: str, shuffle: bool) -> TensorLoader:
        images, labels = self.splits[split]
        seed = self.hparams.shuffle_seed
        if seed is None:
            seed = torch.initial_seed()
        size = self.hparams.batch_size if split == "train" else self.hparams.eval_batch_size
        rank, world_size = 0, 1
        if self.trainer is not None:
            rank, world_size = self.trainer.global_rank, self.trainer.world_size
        return TensorLoader(
            images, labels, batch_size=size, shuffle=shuffle, seed=seed,
            rank=rank, world_size=world_size,
        )  # fmt: skip

    def task_facts(self) -> dict:
        """What the task must know about this data (saved in its checkpoint)."""
        return {"num_classes": len(CLASS_NAMES), "class_names": list(CLASS_NAMES)}

    def train_dataloader(self) -> TensorLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> TensorLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> TensorLoader:
        return self._loader("test", shuffle=False)
