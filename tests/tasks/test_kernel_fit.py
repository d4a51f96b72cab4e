"""KernelFitTask in process: the kernel's curves, the learned and initial kernel in the console,
TensorBoard and metrics.json's extras."""

from functools import partial

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn

from convlab.basics import Conv2D
from convlab.data.edges import EdgeDataModule
from convlab.errors import ConvlabError
from convlab.tasks.kernel_fit import KernelFitTask


def _fit(task, dm, tmp_path=None, epochs=2):
    logger = TensorBoardLogger(str(tmp_path), name="", version="") if tmp_path else False
    trainer = L.Trainer(
        max_epochs=epochs, accelerator="cpu", logger=logger, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        log_every_n_steps=1,
    )  # fmt: skip
    trainer.fit(task, datamodule=dm)
    return trainer


def _task(kernel_size, start, lr=0.0):
    net = Conv2D(kernel_size, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor(start).reshape(net.weight.shape))
    return KernelFitTask(net=net, optimizer=partial(torch.optim.SGD, lr=lr))


def test_kernel_curves_console_tensorboard_and_record(tmp_path, caplog):
    # One step of D2L's update from [[0.5, 0.5]]: Y = X * [1, -1]; the output misses it by
    # 0.5 * (x_j + x_j+1) + (x_j+1 - x_j) summed over 6 rows, gradient 2 * sum(err * window).
    task = _task((1, 2), [[0.123456, -0.5]], lr=0.01)
    dm = EdgeDataModule()
    with caplog.at_level("INFO", logger="convlab.tasks.kernel_fit"):
        trainer = _fit(task, dm, tmp_path, epochs=1)
    X, Y = dm.image, dm.target
    w = torch.tensor([0.123456, -0.5])
    err = w[0] * X[:, :-1] + w[1] * X[:, 1:] - Y
    grad = torch.stack([2 * (err * X[:, :-1]).sum(), 2 * (err * X[:, 1:]).sum()])
    learned = w - 0.01 * grad
    torch.testing.assert_close(task.kernel, learned[None])
    assert task.kernel.shape == (1, 2)
    # One curve per entry after the step, named by position.
    metrics = trainer.callback_metrics
    assert float(metrics["weights/kernel_0_0"]) == pytest.approx(float(learned[0]))
    assert float(metrics["weights/kernel_0_1"]) == pytest.approx(float(learned[1]))
    assert float(metrics["train/loss"]) == pytest.approx(float((err**2).sum()), rel=1e-6)
    messages = [r.getMessage() for r in caplog.records if "learned kernel" in r.getMessage()]
    rounded = [[round(float(v), 4) for v in learned]]
    assert messages == [f"learned kernel: {rounded} (started from [[0.1235, -0.5]])"]
    record = task.record_extras()
    assert record["kernel"] == pytest.approx(learned.tolist())
    assert record["kernel_shape"] == [1, 2]
    assert record["initial_kernel"] == pytest.approx([0.123456, -0.5])

    accumulator = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0, "histograms": 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    assert {"weights/kernel_0_0", "weights/kernel_0_1", "train/loss"} <= set(tags["scalars"])
    assert "train/batch_loss" not in tags["scalars"]  # one step an epoch: it would repeat the loss
    assert "kernel" in tags["histograms"]
    (text,) = accumulator.Tensors("kernel/text_summary")
    assert text.step == 1
    assert text.tensor_proto.string_val[0].decode() == str(rounded)
    (histogram,) = accumulator.Histograms("kernel")
    assert histogram.step == 1
    assert histogram.histogram_value.num == 2
    assert histogram.histogram_value.sum == pytest.approx(float(learned.sum()))


def test_kernels_up_to_16_entries_get_curves_larger_ones_do_not():
    big = _task((3, 6), torch.arange(18.0).tolist())  # 18 entries
    metrics = _fit(big, EdgeDataModule(target_kernel=[[1.0] * 6] * 3), epochs=1).callback_metrics
    assert not any(k.startswith("weights/kernel_") for k in metrics)
    four = _task((4, 4), (torch.arange(16.0) / 16).tolist())  # 16 entries
    metrics = _fit(four, EdgeDataModule(target_kernel=[[1.0] * 4] * 4), epochs=1).callback_metrics
    curves = {k: float(v) for k, v in metrics.items() if k.startswith("weights/kernel_")}
    assert curves == {f"weights/kernel_{i}_{j}": pytest.approx((4 * i + j) / 16) for i in range(4)
                      for j in range(4)}  # fmt: skip
    assert four.record_extras()["kernel_shape"] == [4, 4]


def test_a_multi_channel_kernel_is_kept_whole_and_the_initial_kernel_is_where_training_began():
    net = nn.Conv2d(2, 1, (1, 2), bias=False)
    task = KernelFitTask(net=net, optimizer=partial(torch.optim.SGD, lr=0.0))
    assert torch.equal(task.kernel, net.weight.detach())
    assert task.record_extras() == {
        "kernel": net.weight.flatten().tolist(), "kernel_shape": [1, 2, 1, 2],
    }  # fmt: skip
    # Training moves the kernel; the initial one stays where it started.
    moving = _task((1, 2), [[0.5, 0.5]], lr=0.01)
    _fit(moving, EdgeDataModule(), epochs=2)
    assert moving.record_extras()["initial_kernel"] == [0.5, 0.5]
    assert moving.record_extras()["kernel"] != pytest.approx([0.5, 0.5])


def test_a_net_without_a_weight_and_a_kernel_of_another_shape_are_refused():
    with pytest.raises(ConvlabError, match=r"a model with a weight, got <class .*ReLU'>$"):
        KernelFitTask(net=nn.ReLU(), optimizer=partial(torch.optim.SGD, lr=0.1))
    task = _task((1, 2), [[0.0, 0.0]])
    assert set(task.metric_collection("val")) == {"val/mse"}
    message = (
        r"^model output \(1, 1, 6, 6\) and target \(1, 1, 6, 7\) differ: the model's "
        r"kernel_size must match the shape of data.target_kernel$"
    )
    with pytest.raises(ConvlabError, match=message):
        task.compute_loss(torch.zeros(1, 1, 6, 6), torch.zeros(1, 1, 6, 7))
