"""Max pooling as a learnable layer: the patch data, the exact net, and the linear net's floor."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch.nn import functional as F

from convlab.data import patch_max as patch_max_module
from convlab.data.fashion_mnist import FashionMNISTDataModule
from convlab.data.pairs import uniform
from convlab.data.patch_max import PatchMaxDataModule, image_patches
from convlab.errors import ConvlabError, DataNotFoundError
from convlab.models.patch_max import PatchLinear, PatchReLU
from convlab.runner.check.validate import find_problems
from tests.conftest import compose_config


def _splits(**kwargs) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    data = PatchMaxDataModule(**kwargs)
    data.prepare_data()
    data.setup()
    return data.splits


def test_random_patches_shapes_targets_and_ranges():
    splits = _splits(n_train=300, n_val=200, n_test=100, low=-2.0, high=3.0,
                     test_low=5.0, test_high=6.0)  # fmt: skip
    for split, n in (("train", 300), ("val", 200), ("test", 100)):
        x, y = splits[split]
        assert x.shape == (n, 1, 2, 2) and y.shape == (n, 1)
        assert x.dtype == y.dtype == torch.float32
        expected = torch.tensor([max(p.flatten().tolist()) for p in x]).view(-1, 1)
        assert torch.equal(y, expected)
    assert splits["train"][0].min() >= -2 and splits["train"][0].max() <= 3
    assert splits["test"][0].min() >= 5 and splits["test"][0].max() <= 6  # out of range


def test_test_range_defaults_to_the_training_range():
    x, _ = _splits(n_test=500, low=0.0, high=1.0)["test"]
    assert x.min() >= 0 and x.max() <= 1


def test_splits_are_fixed_and_differ():
    first, again = _splits(n_train=50), _splits(n_train=50)
    assert torch.equal(first["train"][0], again["train"][0])
    assert not torch.equal(first["train"][0], first["val"][0][:50])


def test_image_patches_are_windows_of_the_pooling_grid():
    images = torch.arange(3 * 6 * 6, dtype=torch.uint8).view(3, 6, 6)
    patches = image_patches(images, 40, seed=0)
    windows = F.unfold(images.unsqueeze(1).float(), kernel_size=2, stride=2)  # (3, 4, 9)
    windows = windows.permute(0, 2, 1).reshape(-1, 4) / 255.0
    for patch in patches.view(-1, 4):
        assert (windows == patch).all(dim=1).any()


def test_fashion_mnist_patches(real_fashion_mnist: Path):
    splits = _splits(source="fashion_mnist", n_train=500, n_val=100, n_test=100,
                     data_dir=None, system_dir=str(real_fashion_mnist))  # fmt: skip
    x, y = splits["train"]
    assert x.shape == (500, 1, 2, 2) and x.min() >= 0 and x.max() <= 1
    assert torch.equal(y, x.amax(dim=(2, 3)))
    assert (y > 0).any()


def test_bad_source_is_named(tmp_path):
    cfg = compose_config(["experiment=maxpool_fn", "data.source=cifar"], tmp_path)
    assert find_problems(cfg) == [
        "data.source=cifar: expected one of random, fashion_mnist (PatchMaxDataModule.source)."
    ]


def _fit(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 600) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    return float(loss.detach())


@pytest.fixture
def one_thread():
    # Tiny full-batch steps: more threads only add synchronisation (and fight other jobs).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_linear_has_an_error_floor_a_relu_layer_goes_far_below(one_thread):
    torch.manual_seed(0)
    x, y = _splits(n_train=512)["train"]
    # The best any linear map of the four entries (plus a bias) can do on these patches.
    design = torch.cat([x.flatten(1), torch.ones(len(x), 1)], dim=1).double()
    solution = torch.linalg.lstsq(design, y.double()).solution
    floor = float(F.mse_loss(design @ solution, y.double()))
    assert floor > 0.01  # for uniform (0, 1) entries: a clear floor
    linear = _fit(PatchLinear(), x, y)
    relu = _fit(PatchReLU(width=16, depth=1), x, y)
    assert linear >= floor * (1 - 1e-4)
    assert relu < floor / 5


# --- exact data, settings and loaders (the tiny IDX fixture stands in for Fashion-MNIST) -----


def test_random_patches_are_float64_draws_scaled_to_the_range():
    generator = torch.Generator().manual_seed(3)
    u = torch.rand(6, 1, 2, 2, generator=generator, dtype=torch.float64)
    expected = (-1.0 + 4.0 * u).to(torch.float32)
    assert torch.equal(uniform((6, 1, 2, 2), -1.0, 3.0, seed=3), expected)


def test_image_patches_draw_from_their_own_seed_over_every_window():
    """Pixel (m, r, c) holds m * 36 + r * 6 + c: each patch says where it was cut."""
    images = torch.arange(5 * 6 * 6, dtype=torch.uint8).view(5, 6, 6)
    torch.manual_seed(0)
    patches = image_patches(images, 600, seed=4)
    torch.manual_seed(1)
    assert torch.equal(image_patches(images, 600, seed=4), patches)
    assert not torch.equal(image_patches(images, 600, seed=5), patches)
    assert patches.shape == (600, 1, 2, 2) and patches.dtype == torch.float32
    corner = (patches[:, 0, 0, 0] * 255).round().long()
    image, row, col = corner // 36, corner % 36 // 6, corner % 6
    assert set(image.tolist()) == set(range(5))
    assert set(row.tolist()) == set(col.tolist()) == {0, 2, 4}
    offsets = (patches[:, 0].reshape(-1, 4) * 255).round().long() - corner[:, None]
    assert (offsets == torch.tensor([0, 1, 6, 7])).all()


def test_settings_are_checked_and_defaults_kept(tmp_path):
    for settings in (
        ["data.low=1.0", "data.high=1.0"],
        ["data.low=1.0", "data.high=1.0", "data.test_low=0.0", "data.test_high=2.0"],
    ):
        cfg = compose_config(["experiment=maxpool_fn", *settings], tmp_path)
        assert find_problems(cfg) == ["data.low must be below data.high (got low=1.0, high=1.0)."]
    with pytest.raises(ConvlabError, match=r"need test_low < test_high, got \(2\.0, 1\.0\)"):
        PatchMaxDataModule(test_low=2.0)
    with pytest.raises(ConvlabError, match=r"got \(0\.5, 0\.5\)"):
        PatchMaxDataModule(test_low=0.5, test_high=0.5)
    data = PatchMaxDataModule()
    assert dict(data.hparams) == {
        "source": "random", "n_train": 10000, "n_val": 1000, "n_test": 1000, "low": 0.0,
        "high": 1.0, "test_low": None, "test_high": None, "data_dir": None,
        "system_dir": "/usr/share/datasets/fashion-mnist", "download": True, "batch_size": 32,
        "eval_batch_size": 1000, "train_seed": 0, "val_seed": 1, "test_seed": 2,
        "shuffle_seed": None,
    }  # fmt: skip
    assert data.task_facts() == {"target_shift": 0.0, "target_scale": 1.0}


def test_fashion_mnist_source_reads_the_named_files(tmp_path, monkeypatch, fake_download):
    from tests.conftest import make_fashion_fixture

    folder = make_fashion_fixture(tmp_path / "fashion")
    monkeypatch.setattr(patch_max_module, "VAL_IMAGES", 100)  # the fixture has 600 images
    data = PatchMaxDataModule(source="fashion_mnist", n_train=50, n_val=40, n_test=30,
                              data_dir=str(folder), system_dir=None, download=False)  # fmt: skip
    data.prepare_data()
    data.setup()
    reference = FashionMNISTDataModule(data_dir=str(folder), system_dir=None, download=False,
                                       val_size=100, split_seed=42)  # fmt: skip
    reference.setup("fit")
    train, val = reference.splits["train"][0][:, 0], reference.splits["val"][0][:, 0]
    test = reference.splits["test"][0][:, 0]
    cases = (("train", train, 50, 0), ("val", val, 40, 1), ("test", test, 30, 2))
    for split, images, n, seed in cases:
        x, y = data.splits[split]
        expected = image_patches((images * 255).round().to(torch.uint8), n, seed)
        assert torch.equal(x, expected) and torch.equal(y, x.amax(dim=(2, 3)))
    # A source that is not Fashion-MNIST never looks for the files.
    PatchMaxDataModule(data_dir=str(tmp_path / "none"), system_dir=None).prepare_data()
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = PatchMaxDataModule(source="fashion_mnist", data_dir=str(empty), system_dir=None,
                                 download=False)  # fmt: skip
    with pytest.raises(DataNotFoundError):
        missing.prepare_data()
    assert fake_download.calls == []
    PatchMaxDataModule(source="fashion_mnist", data_dir=str(empty), system_dir=None).prepare_data()
    assert len(fake_download.calls) == 4  # download=True by default: the four files


def test_loaders_batch_sizes_order_seed_and_shards():
    data = PatchMaxDataModule(n_train=40, n_val=30, n_test=20, batch_size=8, eval_batch_size=16,
                              shuffle_seed=5)  # fmt: skip
    data.setup()
    train, val, test = data.train_dataloader(), data.val_dataloader(), data.test_dataloader()
    assert (train.batch_size, val.batch_size, test.batch_size) == (8, 16, 16)
    assert (train.shuffle, val.shuffle, test.shuffle) == (True, False, False)
    assert (train.seed, train.rank, train.world_size) == (5, 0, 1)
    x, y = next(iter(test))
    assert torch.equal(x, data.splits["test"][0][:16])
    assert torch.equal(y, data.splits["test"][1][:16])
    assert torch.equal(next(iter(val))[0], data.splits["val"][0][:16])
    torch.manual_seed(77)
    unseeded = PatchMaxDataModule(n_train=40, n_val=30, n_test=20)
    unseeded.setup()
    assert unseeded.train_dataloader().seed == 77
    data.trainer = SimpleNamespace(global_rank=1, world_size=2)
    shard = data.val_dataloader()
    assert (shard.rank, shard.world_size) == (1, 2)
    assert torch.equal(next(iter(shard))[0], data.splits["val"][0][1::2][:16])
