"""experiment=edge_kernel: D2L §6.2.4's kernel learned through the pipeline, and the edge demo."""

import json

import pytest
import torch
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from convlab.basics import Conv2D, corr2d
from convlab.callbacks.edge_figure import EdgeFigure, fashion_image
from convlab.data.edges import EdgeDataModule
from convlab.errors import ConvlabError
from convlab.tasks.kernel_fit import KernelFitTask
from tests.conftest import make_fashion_fixture, run_script


def test_data_is_one_batch_of_the_book_image_and_its_edges():
    dm = EdgeDataModule()
    batches = list(dm.train_dataloader())
    assert len(batches) == 1
    X, Y = batches[0]
    assert X.shape == (1, 1, 6, 8) and Y.shape == (1, 1, 6, 7)
    assert torch.equal(X[0, 0, :, 2:6], torch.zeros(6, 4))
    assert X[0, 0].sum() == 6 * 4
    assert torch.equal(Y[0, 0], corr2d(X[0, 0], torch.tensor([[1.0, -1.0]])))


def test_hparams_are_plain_lists_so_checkpoints_load_with_weights_only():
    dm = EdgeDataModule(target_kernel=OmegaConf.create([[1, -1]]))
    assert dm.hparams.target_kernel == [[1.0, -1.0]]
    assert type(dm.hparams.target_kernel) is list


@pytest.mark.parametrize(
    "kwargs",
    [
        {"height": 0},
        {"dark_from": 5, "dark_to": 3},
        {"target_kernel": [[1.0] * 9]},
        {"target_kernel": [[1.0, -1.0], [1.0]]},
        {"target_kernel": [[]]},
    ],
)
def test_impossible_data_configs_are_user_errors(kwargs):
    with pytest.raises(ConvlabError, match="data\\."):
        EdgeDataModule(**kwargs)


def test_loss_is_the_sum_of_squares():
    task = KernelFitTask(net=Conv2D((1, 2), bias=False), optimizer=torch.optim.SGD)
    output, target = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 0.0]])
    assert task.compute_loss(output, target) == 5.0
    with pytest.raises(ConvlabError, match="kernel_size"):
        task.compute_loss(torch.zeros(1, 1, 6, 6), torch.zeros(1, 1, 6, 7))


def test_figure_has_a_fashion_row_when_the_data_is_there(tmp_path):
    data = make_fashion_fixture(tmp_path / "fashion", n_train=10, n_test=5)
    image = fashion_image(str(data), None, index=3)
    assert image.shape == (28, 28) and image.min() >= 0 and image.max() <= 1
    figure = EdgeFigure(
        str(tmp_path / "f.png"), fashion_data_dir=str(data), fashion_system_dir=None
    )
    assert len(figure.figure().axes) == 6  # example and Fashion-MNIST: input + 2 responses each
    with pytest.raises(ConvlabError, match="fashion_index"):
        fashion_image(str(data), None, index=5)


def test_figure_without_fashion_mnist_says_so_once_and_draws_the_example(tmp_path, caplog):
    figure = EdgeFigure(
        str(tmp_path / "f.png"), fashion_data_dir=str(tmp_path / "empty"), fashion_system_dir=None
    )
    with caplog.at_level("INFO"):
        axes = figure.figure().axes
    assert len(axes) == 3
    notes = [r.getMessage() for r in caplog.records if "Fashion-MNIST not found" in r.getMessage()]
    assert len(notes) == 1 and "\n" not in notes[0]


def test_train_py_learns_the_edge_kernel(tmp_path):
    result = run_script(["experiment=edge_kernel", "seed=1", f"hydra.run.dir={tmp_path}"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "learned kernel: [[" in result.stdout + result.stderr
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["status"] == "completed"
    assert record["steps"] == 10
    assert record["kernel_shape"] == [1, 2]
    assert record["kernel"] == pytest.approx([1.0, -1.0], abs=0.1)
    assert record["initial_kernel"] != pytest.approx([1.0, -1.0], abs=0.1)  # it did learn
    assert record["metrics"]["test/loss"] < 1.0

    png = tmp_path / "edge_detection.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    events = sorted(tmp_path.glob("events.out.tfevents.*"))  # in the run folder itself
    assert events
    tags = {}
    for path in events:
        accumulator = EventAccumulator(str(path))
        accumulator.Reload()
        for kind, names in accumulator.Tags().items():
            if isinstance(names, list):
                tags.setdefault(kind, set()).update(names)
    assert {"weights/kernel_0_0", "weights/kernel_0_1", "train/loss"} <= tags["scalars"]
    assert "edge_detection" in tags["images"]
    assert "kernel/text_summary" in tags["tensors"]
