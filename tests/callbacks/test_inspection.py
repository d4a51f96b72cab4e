"""The TensorBoard inspection callbacks and the HParams flattening, on hand-made inputs."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from convlab.callbacks.confusion_matrix import ConfusionMatrix, confusion_figure, confusion_markdown
from convlab.callbacks.conv_filters import filter_figure, filter_grid, first_conv
from convlab.callbacks.hparams import flatten_hparams, session_start_summary
from convlab.callbacks.misclassified import Misclassified
from convlab.callbacks.tb_writer import figure_to_chw
from convlab.models.lenet import LeNet


def test_confusion_counts_put_true_classes_in_rows():
    targets = torch.tensor([0, 0, 1, 2, 2, 2])
    predictions = torch.tensor([0, 1, 1, 2, 0, 2])
    logits = nn.functional.one_hot(predictions, 3).float()
    callback = ConfusionMatrix()
    callback.reset()
    for batch in (slice(0, 4), slice(4, 6)):  # counts add up over the test batches
        callback.collect(None, targets[batch], logits[batch])
    counts = callback.counts
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    table = confusion_markdown(counts, ["a", "b", "c"])
    assert table.splitlines()[-1] == "| c | 1 | 0 | 2 |"


def test_confusion_figure_renders_to_rgb():
    counts = torch.tensor([[5, 1], [2, 7]])
    image = figure_to_chw(confusion_figure(counts, ["cat", "dog"]))
    assert image.dtype == torch.uint8
    assert image.shape[0] == 3 and image.shape[1] > 100 and image.shape[2] > 100


def test_filter_grid_has_one_tile_per_kernel_on_one_symmetric_scale():
    net = LeNet()
    conv = first_conv(net)
    assert conv is net.features[0]
    grid, limit = filter_grid(conv.weight)
    # 6 kernels of 5x5 in one row, one blank (NaN) column between neighbours.
    assert grid.shape == (5, 6 * 5 + 5)
    assert np.isnan(grid[:, 5]).all() and not np.isnan(grid[:, :5]).any()
    assert limit == pytest.approx(conv.weight.abs().max().item())
    image = figure_to_chw(filter_figure(conv.weight))
    assert image.shape[0] == 3 and 400 <= image.shape[2] <= 480  # card-sized, colour bar in it


def test_filter_figure_puts_zero_at_white_and_positive_in_red():
    weight = torch.zeros(1, 1, 1, 2)
    weight[0, 0, 0, 0] = 1.0
    figure = filter_figure(weight)
    image = figure.axes[0].get_images()[0]
    assert image.get_clim() == (-1.0, 1.0)  # symmetric: 0 is the map's (white) middle
    red, white = image.to_rgba(np.array([1.0, 0.0]))
    assert red[0] > 2 * red[2] and min(white[:3]) > 0.9
    assert len(figure.axes) == 2  # the image and its colour bar


def test_first_conv_is_none_without_convolutions():
    assert first_conv(nn.Sequential(nn.Linear(2, 2))) is None


def test_misclassified_keeps_the_most_confident_mistakes_across_batches():
    callback = Misclassified(max_images=2)
    callback.reset()
    images = torch.arange(4.0).reshape(4, 1, 1, 1)
    targets = torch.tensor([0, 0, 0, 0])
    # Rows 1 and 3 are wrong; row 3 is the more confident mistake.
    logits = torch.tensor([[5.0, 0.0], [0.0, 1.0], [5.0, 0.0], [0.0, 9.0]])
    callback.collect(images, targets, logits)
    # A second batch with one very confident mistake pushes out the weakest one.
    callback.collect(torch.full((1, 1, 1, 1), 7.0), torch.tensor([1]), torch.tensor([[20.0, 0.0]]))
    assert callback.images.flatten().tolist() == [7.0, 3.0]
    assert callback.targets.tolist() == [1, 0]
    assert callback.predictions.tolist() == [0, 1]
    assert callback.confidences[0] > callback.confidences[1]


def test_flatten_hparams_gives_override_paths_and_skips_paths_and_logging():
    cfg = OmegaConf.create(
        {
            "optimizer": {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.9},
            "data": {"batch_size": 256, "data_dir": "/somewhere", "shuffle_seed": None},
            "model": {"kernel_size": [1, 2]},
            "paths": {"output_dir": "/x"},
            "callbacks": {"model_checkpoint": {"dirpath": "/x/checkpoints"}},
            "logger": {"tensorboard": {"save_dir": "/x"}},
            "seed": 3,
            "ckpt_path": None,
            "trainer": {"deterministic": False},
        }
    )
    flat = flatten_hparams(cfg)
    assert flat == {
        "data.batch_size": 256,
        "data.shuffle_seed": None,
        "model.kernel_size": "[1, 2]",
        "optimizer._target_": "torch.optim.SGD",
        "optimizer.lr": 0.9,
        "seed": 3,
        "trainer.deterministic": False,
    }
    summary = session_start_summary(flat)
    assert summary.value[0].tag == "_hparams_/session_start_info"
