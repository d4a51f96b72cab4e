"""The four max(a, b) experiments: compose, override, and a fast_dev_run through the pipeline."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from convlab.record import read_record
from convlab.runner.run import build_task, train
from tests.conftest import compose_config

MAX_EXPERIMENTS = ["max_regression", "max_classification", "max_gated", "max_exact"]


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    # The experiments set torch_threads=1, which is process-wide: give the worker its own back.
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("experiment", MAX_EXPERIMENTS)
def test_fast_dev_run(experiment, tmp_path: Path):
    cfg = compose_config([f"experiment={experiment}", "debug=fdr", "logger=csv"], tmp_path)
    record = train(cfg)
    assert record.status == "completed"
    metrics = read_record(tmp_path)["metrics"]
    if experiment == "max_classification":
        assert {"val/acc", "test/acc", "test/loss"} <= set(metrics)
    else:
        assert {"val/mae", "val/mse", "test/mae", "test/mse", "test/loss"} <= set(metrics)
    if experiment == "max_exact":
        assert metrics["test/mae"] < 5e-3  # original units, pairs up to 20000


@pytest.mark.parametrize("experiment", MAX_EXPERIMENTS)
def test_defaults_keep_batch_size_1_fast(experiment, tmp_path: Path):
    cfg = compose_config([f"experiment={experiment}"], tmp_path)
    assert cfg.data.batch_size == 1 and cfg.data.n_train == 1000
    assert (cfg.data.low, cfg.data.high) == (0.0, 20000.0)
    assert cfg.torch_threads == 1
    assert cfg.callbacks.rich_progress_bar is None
    assert cfg.callbacks.progress_bar._target_.endswith("TQDMProgressBar")
    # Steps per progress-bar refresh: at least every 100 batch-size-1 steps, not every step.
    groups = cfg.data.steps_per_batch
    assert cfg.callbacks.progress_bar.refresh_rate * groups >= 100
    assert groups == (1 if experiment == "max_classification" else 100)
    assert cfg.hydra.job.env_set.PYTORCH_NVML_BASED_CUDA_CHECK == "0"
    assert cfg.monitor.metric == ("val/acc" if experiment == "max_classification" else "val/mae")


@pytest.mark.parametrize(
    "overrides",
    [
        ["experiment=max_regression", "optimizer=sgd", "data.batch_size=16",
         "data.normalization=unit", "model.width=8", "model.depth=1"],
        ["experiment=max_gated", "data.normalization=none", "optimizer.lr=1e-8", "model.depth=2"],
        ["experiment=max_classification", "optimizer=sgd", "data.batch_size=1000"],
        ["experiment=max_exact", "data.normalization=unit"],
    ],
)  # fmt: skip
def test_overrides_compose_and_build(overrides, tmp_path: Path):
    cfg = compose_config(overrides, tmp_path)
    datamodule = instantiate(cfg.data)
    task = build_task(cfg, datamodule)
    optimizer = task.configure_optimizers()
    optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
    assert type(optimizer).__name__ == cfg.optimizer._target_.rsplit(".", 1)[1]
    batch = next(iter(datamodule.train_dataloader()))
    if cfg.data.steps_per_batch > 1:  # a group of optimizer batches, at most an epoch's
        batches = -(-cfg.data.n_train // cfg.data.batch_size)
        assert len(batch) == min(cfg.data.steps_per_batch, batches)
        batch = batch[0]
    x, _ = batch
    assert x.shape == (cfg.data.batch_size, 2)
    out = task(x)
    assert out.shape[0] == cfg.data.batch_size
