"""The edge_kernel run in TensorBoard: a figure read at card size, one loss curve where an epoch
is one step, and the train/val/test groups first."""

from __future__ import annotations

import itertools

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from convlab.callbacks.edge_figure import EdgeFigure
from convlab.runner.run import train
from tests.callbacks.tb_server import dashboard_groups
from tests.conftest import compose_config


@pytest.fixture(scope="module")
def edge_run(tmp_path_factory) -> EventAccumulator:
    run_dir = tmp_path_factory.mktemp("edge") / "run"
    cfg = compose_config(["experiment=edge_kernel", "callbacks.rich_progress_bar=null"], run_dir)
    assert train(cfg).status == "completed"
    return EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0}).Reload()


def test_the_edge_figure_is_card_sized_with_titles_that_fit(real_fashion_mnist, tmp_path):
    figure = EdgeFigure(str(tmp_path / "edge.png"), fashion_data_dir=str(real_fashion_mnist),
                        fashion_system_dir=None).figure()  # fmt: skip
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    assert (canvas.get_width_height()[0], len(figure.axes)) == (440, 6)  # as the other figures
    titles = [ax.title for ax in figure.axes]
    assert all(title.get_fontsize() >= 9 for title in titles)
    boxes = [title.get_window_extent(canvas.get_renderer()) for title in titles]
    assert all(box.x0 >= 0 and box.x1 <= 440 for box in boxes), [b.bounds for b in boxes]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def test_the_run_shows_the_figure_at_card_size(edge_run):
    (image,) = edge_run.Images("edge_detection")
    assert image.width == 440


def test_an_epoch_of_one_step_has_its_loss_once(edge_run):
    scalars = set(edge_run.Tags()["scalars"])
    assert {"train/loss", "weights/kernel_0_0", "weights/kernel_0_1"} <= scalars
    assert "train/batch_loss" not in scalars  # it would repeat train/loss, step for step


def test_the_scalars_dashboard_opens_on_train_val_test(edge_run):
    groups = dashboard_groups(edge_run.Tags()["scalars"])
    assert groups[:3] == ["test", "train", "val"], groups
