"""EdgeDataModule: D2L's black-band image, its edge target, and the settings it refuses."""

import pytest
import torch

from convlab.basics.corr2d import corr2d
from convlab.data.edges import EdgeDataModule, edge_image
from convlab.errors import ConvlabError
from convlab.runner.check.validate import find_problems
from tests.conftest import compose_config


def test_default_image_and_target_are_d2ls():
    dm = EdgeDataModule()
    expected = torch.ones(6, 8)
    expected[:, 2:6] = 0
    assert torch.equal(dm.image, expected)
    assert torch.equal(dm.kernel, torch.tensor([[1.0, -1.0]]))
    assert torch.equal(dm.target, corr2d(expected, torch.tensor([[1.0, -1.0]])))
    assert dm.target[0].tolist() == [0, 1, 0, 0, 0, -1, 0]


def test_band_and_kernel_come_from_the_settings():
    dm = EdgeDataModule(height=3, width=5, dark_from=1, dark_to=3, target_kernel=[[1], [-1]])
    assert dm.image.tolist() == [[1.0, 0.0, 0.0, 1.0, 1.0]] * 3
    assert edge_image(2, 4, 0, 1).tolist() == [[0.0, 1.0, 1.0, 1.0]] * 2
    assert dm.kernel.tolist() == [[1.0], [-1.0]]
    assert dm.target.shape == (2, 5) and not dm.target.any()  # no horizontal edges


@pytest.mark.parametrize(
    "settings",
    [
        {"height": 1, "width": 1, "dark_from": 0, "dark_to": 1, "target_kernel": [[2.0]]},
        {"width": 4, "dark_from": 0, "dark_to": 0},
        {"width": 4, "dark_from": 4, "dark_to": 4},
        {"height": 2, "width": 3, "dark_from": 1, "dark_to": 2, "target_kernel": [[1, 2, 3]] * 2},
    ],
)
def test_the_limits_of_the_settings_are_allowed(settings):
    dm = EdgeDataModule(**settings)
    assert dm.image.shape == (settings.get("height", 6), settings["width"])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"height": 0}, "no larger than the 0x8 image"),
        ({"width": 0, "dark_from": 0, "dark_to": 0}, "no larger than the 6x0 image"),
        ({"dark_from": -1}, r"data\.dark_from=-1, data\.dark_to=6: need 0 <= dark_from"),
        ({"dark_from": 5, "dark_to": 4}, r"dark_to <= width \(8\)"),
        ({"dark_to": 9}, "dark_to=9"),
        ({"target_kernel": [[1.0, 2.0], [3.0]]}, "rectangular 2-D list no larger than the 6x8"),
        ({"target_kernel": []}, "non-empty"),
        ({"height": 2, "target_kernel": [[1.0]] * 3}, "no larger"),
        ({"width": 2, "dark_to": 2, "target_kernel": [[1.0, 2.0, 3.0]]}, "no larger"),
    ],
)
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ConvlabError, match=message):
        EdgeDataModule(**settings)


@pytest.mark.parametrize("setting", ["height=0", "width=0"])
def test_an_empty_image_is_refused_up_front(setting, tmp_path):
    cfg = compose_config(["experiment=edge_kernel", f"data.{setting}"], tmp_path)
    assert find_problems(cfg) == [f"data.{setting}: must be a positive integer."]


def test_every_loader_is_the_one_image_in_one_batch():
    dm = EdgeDataModule()
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        assert len(loader) == 1 and loader.batch_size == 1
        ((x, y),) = list(loader)
        assert torch.equal(x, dm.image[None, None]) and torch.equal(y, dm.target[None, None])
