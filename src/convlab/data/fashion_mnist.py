"""Fashion-MNIST as in-memory tensors: located offline first, validated, decoded once."""

import functools
import hashlib
import logging
import os
import shutil
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from pydantic import PositiveInt

from convlab.data.idx import read_idx
from convlab.data.tensor_loader import TensorDataModule
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
MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
# Mean and std of the 60,000 training images scaled to [0, 1].
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530


@dataclass(frozen=True)
class FashionMNISTFiles:
    train_images: Path
    train_labels: Path
    test_images: Path
    test_labels: Path
    # or "system" (the system copy) or "download"; not part of the cache key: the same files
    source: str = field(default="data_dir", compare=False)

    def paths(self) -> dict[str, Path]:
        return {key: getattr(self, key) for key in FILES}


def _present(directory: Path) -> dict[str, Path]:
    """The IDX files in ``directory`` by key, each plain or gzipped (the plain one first)."""
    found = {key: next((p for p in (directory / stem, directory / f"{stem}.gz") if p.is_file()),
                       None) for key, stem in FILES.items()}  # fmt: skip
    return {key: path for key, path in found.items() if path}


def _find_in(directory: Path) -> FashionMNISTFiles | None:
    """The four files in ``directory`` (or torchvision's ``FashionMNIST/raw`` layout below it)."""
    for candidate in (directory, directory / "FashionMNIST" / "raw"):
        if len(found := _present(candidate)) == len(FILES):
            return FashionMNISTFiles(**found)
    return None


def fetch(url: str, path: Path) -> None:
    """``url`` into ``path``, whole or not at all."""
    partial = path.with_name(path.name + ".part")
    with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as out:
        shutil.copyfileobj(response, out)
    os.replace(partial, path)


def _download(directory: Path) -> FashionMNISTFiles | None:
    """The four ``.gz`` files from the dataset's mirror, each checked against its published MD5
    (what torchvision's downloader does, without importing torchvision: 1 s at every start)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, md5 in MD5.items():
            path = directory / name
            if not path.is_file():
                fetch(MIRROR + name, path)
            if hashlib.md5(path.read_bytes()).hexdigest() != md5:
                path.unlink()
                raise OSError(f"{name}: not the published file (MD5 differs)")
    except OSError as error:  # any network or integrity failure means "not available"
        log.info("download failed: %s", error)
        return None
    found = _find_in(directory)
    return found and replace(found, source="download")


def _missing(directory: Path) -> str:
    if not directory.exists():
        return "no such folder"
    if not directory.is_dir():
        return "not a folder"
    present = _present(directory)
    return "missing " + ", ".join(
        f"{stem}[.gz]" for key, stem in FILES.items() if key not in present
    )


@functools.cache  # once per process: prepare_data and setup both look the files up
def _notice(message: str) -> None:
    log.info(message)


def locate_in(data_dir: Path, download: bool = True) -> FashionMNISTFiles:
    """Only ``data_dir`` (the user named it), or a download into it: never a fallback."""
    found = _find_in(data_dir)
    if found:
        return found
    problem = _missing(data_dir)
    if not data_dir.is_dir():
        attempt = "  2. download into it: not tried (create the folder first)"
    elif download:
        _notice(f"Fashion-MNIST: downloading into data.data_dir={data_dir}")
        if found := _download(data_dir):
            return found
        attempt = "  2. download into it: failed (no internet?)"
    else:
        attempt = "  2. download into it: disabled (data.download=false)"
    raise DataNotFoundError(
        "Fashion-MNIST not found. Tried:\n"
        f"  1. data.data_dir={data_dir} (set explicitly): {problem}\n{attempt}\n"
        "A data_dir you set is the only place looked in (never a silent fallback): fix the "
        "path, or drop the override to use the default look-up (data/fashion_mnist, then "
        f"the system copy {SYSTEM_DIR})."
    )


def locate_fashion_mnist(
    data_dir: str | Path | None,
    system_dir: str | Path | None = SYSTEM_DIR,
    download: bool = True,
) -> FashionMNISTFiles:
    """``data_dir``, then the system copy, then the download; a fallback is said in one log
    line."""
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
            where = f"nothing in {data_dir}" if data_dir else "data.data_dir not set"
            _notice(f"Fashion-MNIST: using the system copy {system_dir} ({where})")
            return replace(found, source="system")
        tried.append(
            f"  2. system copy {system_dir}: not installed "
            "(Debian/Ubuntu: apt-get install dataset-fashion-mnist)"
        )
    else:
        tried.append("  2. system copy: disabled (data.system_dir=null)")
    if download and data_dir:
        _notice(f"Fashion-MNIST: downloading into {data_dir}")
        if found := _download(Path(data_dir)):
            return found
        tried.append("  3. download into data.data_dir: failed (no internet?)")
    else:
        tried.append("  3. download: disabled (data.download=false)")
    raise DataNotFoundError(
        "Fashion-MNIST not found. Tried:\n" + "\n".join(tried) + "\n"
        "Fix one of them: put the four IDX files (train-images-idx3-ubyte, "
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, .gz or not) "
        "in data.data_dir, install the system package, or allow the download."
    )


def _stamp(path: Path) -> tuple[int, int]:
    """What tells a changed file from the one cached: its modification time and size."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def file_digest(path: Path, length: int = 16) -> str:
    """The file's SHA-256 as stored (a ``.gz`` hashed compressed), once per file and process."""
    return _sha256(path.resolve(), _stamp(path))[:length]


@functools.cache
def _sha256(path: Path, stamp: tuple[int, int]) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def load_fashion_mnist(files: FashionMNISTFiles) -> tuple[torch.Tensor, ...]:
    """Decode and validate; cached per process so a sweep decodes the files once."""
    return _decode(files, tuple(_stamp(path) for path in files.paths().values()))


@functools.lru_cache(maxsize=1)  # one data set held at a time
def _decode(files: FashionMNISTFiles, stamps: tuple) -> tuple[torch.Tensor, ...]:
    train_x = read_idx(files.train_images, expected_ndim=3)
    train_y = read_idx(files.train_labels, expected_ndim=1)
    test_x = read_idx(files.test_images, expected_ndim=3)
    test_y = read_idx(files.test_labels, expected_ndim=1)
    where = files.train_images.parent
    for x, y, split in ((train_x, train_y, "train"), (test_x, test_y, "test")):
        problem = None
        if tuple(x.shape[1:]) != (28, 28):
            problem = f"images are {tuple(x.shape[1:])}, not 28x28"
        elif x.shape[0] != y.shape[0]:
            problem = f"has {x.shape[0]} images but {y.shape[0]} labels"
        elif y.numel() and int(y.max()) >= len(CLASS_NAMES):
            problem = f"labels range up to {int(y.max())}, expected 0..9"
        if problem:
            raise CorruptDataError(f"{where}: {split} {problem}")
    if train_x.shape == test_x.shape and torch.equal(train_x, test_x):
        raise CorruptDataError(
            f"{files.train_images} and {files.test_images} hold the same {len(test_x):,} "
            "images: the run would be tested on the images it trained on. Put the training "
            "files (train-*) and the test files (t10k-*) there under their own names."
        )
    return train_x, train_y, test_x, test_y


class FashionMNISTDataModule(TensorDataModule):
    """55,000 train / 5,000 val (fixed split) / the official 10,000 test, as ``float32``
    ``(N, 1, 28, 28)`` in [0, 1] (or standardised with ``normalize``), decoded once in ``setup``.

    ``data_dir`` set: only there (or a download into it). Unset: ``default_dir``, the system copy
    ``system_dir``, then a download into ``default_dir``.
    """

    input_shape, target_shape = (1, 28, 28), ()

    def __init__(
        self,
        data_dir: str | None = None,
        default_dir: str | None = None,
        system_dir: str | None = SYSTEM_DIR,
        download: bool = True,
        batch_size: PositiveInt = 256,
        eval_batch_size: PositiveInt = 1024,
        val_size: PositiveInt = 5000,
        split_seed: int = 42,
        normalize: bool = False,
        shuffle_seed: int | None = None,
        device: str = "cpu",
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.files: FashionMNISTFiles | None = None
        self.splits = {}

    def locate(self, download: bool | None = None) -> FashionMNISTFiles:
        hp = self.hparams
        download = hp.download if download is None else download
        if hp.data_dir:
            return locate_in(Path(hp.data_dir), download)
        return locate_fashion_mnist(hp.default_dir, hp.system_dir, download)

    def prepare_data(self) -> None:  # no state kept: may run on one process only
        train_x = load_fashion_mnist(self.locate())[0]
        if not 0 < self.hparams.val_size < train_x.shape[0]:
            raise CorruptDataError(
                f"data.val_size={self.hparams.val_size} must be between 1 and "
                f"{train_x.shape[0] - 1} (the training file holds {train_x.shape[0]} images)"
            )

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        self.files = self.locate(download=False)
        train_x, train_y, test_x, test_y = load_fashion_mnist(self.files)
        generator = torch.Generator().manual_seed(self.hparams.split_seed)
        order = torch.randperm(train_x.shape[0], generator=generator)
        val_idx, train_idx = order[: self.hparams.val_size], order[self.hparams.val_size :]
        n_train, trainer = len(train_idx), self.trainer
        world_size, rank = (1, 0) if trainer is None else (trainer.world_size, trainer.global_rank)
        per_process = n_train // world_size
        if self.hparams.batch_size > per_process and rank == 0:  # said once, by rank 0
            shard = f", {per_process:,} per process" if world_size > 1 else ""
            log.warning(
                "data.batch_size=%d is larger than the training split (%s images%s): every epoch "
                "is one step on the whole split. Use data.batch_size=%d or less.",
                self.hparams.batch_size, f"{n_train:,}", shard, per_process,
            )  # fmt: skip
        device, splits = torch.device(self.hparams.device), {}
        for split, images, labels in (
            ("train", train_x[train_idx], train_y[train_idx]),
            ("val", train_x[val_idx], train_y[val_idx]),
            ("test", test_x, test_y),
        ):
            x = images.to(device=device, dtype=torch.float32).div_(255.0).unsqueeze(1)
            if self.hparams.normalize:
                x = x.sub_(PIXEL_MEAN).div_(PIXEL_STD)
            splits[split] = (x, labels.long().to(device))
        self.splits = splits

    def record_extras(self) -> dict:
        """For ``metrics.json``: the folder, how it was found, each file's SHA-256 prefix."""
        files = self.files or self.locate(download=False)
        return {
            "data": {
                "dir": str(files.train_images.parent.resolve()),
                "source": files.source,
                "files": {path.name: file_digest(path) for path in files.paths().values()},
            }
        }

    def task_facts(self) -> dict:
        """What the task must know about this data (saved in its checkpoint)."""
        return {"num_classes": len(CLASS_NAMES), "class_names": list(CLASS_NAMES)}
