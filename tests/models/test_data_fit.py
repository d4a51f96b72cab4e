"""A net that cannot train on its data is named before training, in the config's words."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from convlab.errors import ConvlabError
from convlab.models.data_fit import check_net_fits_data, choice
from convlab.runner.run import build_datamodule, build_task
from tests.conftest import compose_config
from tests.runner.test_configs import EXPERIMENTS


def _built(overrides: list[str], tmp_path: Path):
    """As ``train`` builds them: the data module (files checked), then the task with its net."""
    cfg = compose_config(overrides, tmp_path)
    datamodule = build_datamodule(cfg)
    return cfg, build_task(cfg, datamodule), datamodule


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_fits_its_data_as_declared(experiment, tmp_path):
    """At its defaults each experiment passes, and its data module's declared shapes are those
    of a real batch (the check trusts them)."""
    cfg, task, datamodule = _built([f"experiment={experiment}"], tmp_path)
    state = torch.get_rng_state()
    check_net_fits_data(cfg, task, datamodule)
    assert torch.equal(torch.get_rng_state(), state) and task.net.training  # nothing disturbed
    datamodule.setup("fit")
    x, y = next(iter(datamodule.val_dataloader()))
    assert (tuple(x.shape[1:]), tuple(y.shape[1:])) == (
        datamodule.input_shape, datamodule.target_shape)  # fmt: skip


MISMATCHES = {
    "fewer classes": (["experiment=lenet", "model.num_classes=5"],
                      "model.num_classes=5 but the labels of data=fashion_mnist go to 9: set "
                      "model.num_classes=10"),
    "flat net on images": (["model=mlp"],
                           "model=mlp expects model.in_features=2 but data=fashion_mnist gives "
                           "samples of 1x28x28 (RuntimeError: mat1 and mat2 shapes cannot be "
                           "multiplied (56x28 and 2x64))"),
    "net without input keys": (["model=exact"],
                               "model=exact cannot take the samples of data=fashion_mnist, "
                               "1x28x28 (RuntimeError: mat1 and mat2 shapes cannot be "
                               "multiplied (56x28 and 2x3))"),
    "more logits than classes": (["experiment=max_classification", "model.out_features=3"],
                                 "model.out_features=3 but the labels of data=pairs go to 1: set "
                                 "model.out_features=2"),
    "a score per pixel row": (["model=mlp", "model.in_features=28", "model.out_features=10"],
                              "model=mlp gives outputs of 1x28x10 a sample but the labels of "
                              "data=fashion_mnist go to 9: task=classification needs 10 scores"),
    "two outputs for one target": (["experiment=max_regression", "model.out_features=2"],
                                   "model=mlp (model.out_features=2) gives outputs of 2 a sample "
                                   "but the targets of data=pairs are 1"),
    "kernel of another size": (["experiment=edge_kernel", "model.kernel_size=[2,2]"],
                               "model=conv2d (model.out_channels=1, model.kernel_size=[2, 2]) "
                               "gives outputs of 1x5x7 a sample but the targets of data=edges "
                               "are 1x6x7"),
    "target of another size": (["experiment=edge_kernel", "data.target_kernel=[[1,-1],[1,-1]]"],
                               "model=conv2d (model.out_channels=1, model.kernel_size=[1, 2]) "
                               "gives outputs of 1x6x7 a sample but the targets of data=edges "
                               "are 1x5x7"),
    "labels for a regression": (["experiment=max_classification", "task=regression"],
                                "task=regression needs numeric targets but data=pairs gives "
                                "class labels (2 classes); use task=classification"),
    "task of fewer classes": (["experiment=lenet", "+task.num_classes=5"],
                              "task.num_classes=5 but the labels of data=fashion_mnist go to 9: "
                              "leave task.num_classes unset"),
}  # fmt: skip


@pytest.mark.parametrize("case", MISMATCHES)
def test_a_mismatch_is_one_line_naming_the_keys(case, tmp_path):
    overrides, message = MISMATCHES[case]
    cfg, task, datamodule = _built(overrides, tmp_path)
    with pytest.raises(ConvlabError) as error:
        check_net_fits_data(cfg, task, datamodule)
    assert str(error.value) == message
    assert task.net.training  # the pass left the net as it found it


def test_a_data_module_without_shapes_is_not_checked(tmp_path, monkeypatch):
    cfg, task, datamodule = _built(["model=mlp"], tmp_path)
    monkeypatch.delattr(type(datamodule), "input_shape")  # one's own module, without the facts
    check_net_fits_data(cfg, task, datamodule)


def test_a_config_is_named_by_its_option_else_by_its_class(tmp_path):
    cfg = compose_config(["experiment=max_regression", "model=residual_mlp"], tmp_path)
    assert (choice(cfg, "model"), choice(cfg, "data")) == ("residual_mlp", "pairs")
    assert choice(cfg, "scheduler") == "CosineAnnealingLR"  # set by the experiment, no option
