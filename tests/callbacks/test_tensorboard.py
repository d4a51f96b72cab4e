"""A short image run's TensorBoard log: images written, and a real TensorBoard serves it.

The server test starts ``tensorboard`` on a free loopback port against the run's logs, reads a
scalar series and the run's HParams session over its HTTP data API, and stops the server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from convlab.record import read_record
from convlab.report.tensorboard_index import write_index
from convlab.runner.run import train
from tests.callbacks.tb_server import dashboard_groups, get_json, session_groups, tensorboard
from tests.conftest import compose_config, make_fashion_fixture, run_script

RUN = "run"  # the run's name as TensorBoard lists it: its folder, events straight in it


@pytest.fixture(scope="module")
def image_run(tmp_path_factory) -> Path:
    """lenet_modern (image callbacks on) for 2 tiny epochs on the generated fixture."""
    root = tmp_path_factory.mktemp("tensorboard")
    fixture = make_fashion_fixture(root / "fashion", n_train=300, n_test=100)
    cfg = compose_config(
        ["experiment=lenet_modern", f"data.data_dir={fixture}", "data.system_dir=null",
         "data.download=false", "data.val_size=60", "data.batch_size=60",
         "trainer.max_epochs=2", "optimizer.lr=0.003", "callbacks.rich_progress_bar=null",
         "trainer.enable_model_summary=false"],
        root / "run",
    )  # fmt: skip
    assert train(cfg).status == "completed"
    return root


def test_image_run_writes_filters_confusion_matrix_and_mistakes(image_run: Path):
    events = EventAccumulator(
        str(image_run / RUN), size_guidance={"images": 0, "tensors": 0}
    ).Reload()
    images = events.Tags()["images"]
    assert {"filters/first_conv", "test/confusion_matrix", "test/misclassified"} <= set(images)
    # The filters before training (step 0) and after each of the 2 epochs (4 steps each).
    assert [event.step for event in events.Images("filters/first_conv")] == [0, 4, 8]
    table = events.Tensors("test/confusion_matrix/text_summary")[-1].tensor_proto.string_val[0]
    rows = table.decode().splitlines()[2:]
    assert len(rows) == 10 and rows[0].startswith("| t-shirt |")  # the task's class names
    counts = [int(cell) for row in rows for cell in row.strip("|").split("|")[1:]]
    assert sum(counts) == 100  # every test image counted once
    scalars = events.Tags()["scalars"]
    assert {"wall/train_epoch_s", "wall/train_examples_per_s", "train/lr"} <= set(scalars)
    assert dashboard_groups(scalars)[:3] == ["test", "train", "val"]  # open first, then wall/


@pytest.fixture
def tensorboard_server(image_run: Path):
    write_index(image_run)  # as make tensorboard does before it starts TensorBoard
    with tensorboard(image_run) as base:
        yield base


def test_tensorboard_serves_scalars_and_hparams(image_run: Path, tensorboard_server: str):
    record = read_record(image_run / "run")
    scalars = get_json(
        f"{tensorboard_server}/data/plugin/scalars/scalars?run={RUN}&tag=val/acc"
    )  # [[wall_time, step, value], ...], one point per epoch
    steps = [step for _, step, _ in scalars]
    assert len(steps) == 2 and steps[0] < steps[1] == record["steps"]  # optimizer steps
    assert scalars[-1][2] == pytest.approx(record["metrics"]["val/acc"])

    experiment = get_json(f"{tensorboard_server}/data/plugin/hparams/experiment", {})
    # A single run varies nothing: the columns are the short fixed set and the final metrics.
    hparam_names = {info["name"] for info in experiment["hparamInfos"]}
    assert hparam_names == {"model", "optimizer", "optimizer.lr", "data.batch_size", "seed"}
    metric_names = [info["name"]["tag"] for info in experiment["metricInfos"]]
    assert metric_names == ["val/acc", "test/acc", "val/loss", "test/loss", "train/loss"]

    groups = session_groups(tensorboard_server)
    assert len(groups) == 1
    session = groups[0]
    assert session["hparams"]["optimizer.lr"] == pytest.approx(0.003)
    assert session["hparams"]["model"] == "lenet"
    assert session["hparams"]["data.batch_size"] == "60"
    assert session["sessions"][0]["status"] == "STATUS_SUCCESS"
    metrics = {value["name"]["tag"]: value["value"] for value in session["metricValues"]}
    assert metrics["test/acc"] == pytest.approx(record["metrics"]["test/acc"])
    assert metrics["val/acc"] == pytest.approx(record["metrics"]["val/acc"])


@pytest.mark.slow
def test_confusion_matrix_counts_every_test_image_under_ddp(tmp_path: Path):
    # ddp_sim: 2 CPU processes each test half of the split; the counts are summed across them.
    fixture = make_fashion_fixture(tmp_path / "fashion", n_train=300, n_test=101)
    result = run_script(
        ["experiment=lenet_modern", "trainer=ddp_sim", f"data.data_dir={fixture}",
         "data.system_dir=null", "data.download=false", "data.val_size=60",
         "data.batch_size=60", "trainer.max_epochs=1", f"hydra.run.dir={tmp_path / 'run'}"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    events = EventAccumulator(str(tmp_path / RUN), size_guidance={"tensors": 0}).Reload()
    table = events.Tensors("test/confusion_matrix/text_summary")[-1].tensor_proto.string_val[0]
    rows = table.decode().splitlines()[2:]
    assert sum(int(cell) for row in rows for cell in row.strip("|").split("|")[1:]) == 101
