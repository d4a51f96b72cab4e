"""Max pooling as a learnable layer: the patch data, the exact net, and the linear net's floor."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from convlab.data.patch_max import PatchMaxDataModule, image_patches
from convlab.errors import ConvlabError
from convlab.models.patch_max import PatchExactMax, PatchLinear, PatchReLU


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


def test_fashion_mnist_patches(require_system_data: Path):
    splits = _splits(source="fashion_mnist", n_train=500, n_val=100, n_test=100,
                     data_dir=None, system_dir=str(require_system_data))  # fmt: skip
    x, y = splits["train"]
    assert x.shape == (500, 1, 2, 2) and x.min() >= 0 and x.max() <= 1
    assert torch.equal(y, x.amax(dim=(2, 3)))
    assert (y > 0).any()


def test_bad_source_is_named():
    with pytest.raises(ConvlabError, match=r"data\.source"):
        PatchMaxDataModule(source="cifar")


def test_exact_net_is_max_pooling():
    generator = torch.Generator().manual_seed(0)
    for scale in (1e-3, 1.0, 1e4):
        x = torch.randn(8, 3, 10, 13, generator=generator) * scale
        expected = F.max_pool2d(x, 2).flatten(1)
        atol = 4 * torch.finfo(torch.float32).eps * scale * 4
        torch.testing.assert_close(PatchExactMax()(x), expected, rtol=0, atol=atol)
    patch = torch.tensor([[[[0.25, -1.0], [7.5, 2.0]]]])
    assert PatchExactMax()(patch).tolist() == [[7.5]]
    assert not any(p.requires_grad for p in PatchExactMax().parameters())


@pytest.mark.parametrize("model", [PatchLinear(), PatchReLU(), PatchReLU(8, 3), PatchExactMax()])
def test_one_value_per_patch(model):
    assert model(torch.rand(5, 1, 2, 2)).shape == (5, 1)
    assert model(torch.rand(5, 1, 8, 6)).shape == (5, 12)


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
