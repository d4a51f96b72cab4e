"""The HParams experiment: which columns, in which order, typed how; on hand-made inputs."""

from functools import partial

import torch
from omegaconf import OmegaConf
from tensorboard.plugins.hparams import api_pb2, metadata

from convlab.callbacks.hparams import (
    hparam_columns,
    metric_names,
    scalar_layout,
    session_start_summary,
)
from convlab.models.mlp import MLP
from convlab.runner.overrides import sweep_domains
from convlab.tasks.regression import RegressionTask

STRING, NUMBER = api_pb2.DATA_TYPE_STRING, api_pb2.DATA_TYPE_FLOAT64


def test_sweep_domains_keep_only_the_swept_keys_with_their_values():
    domains = sweep_domains(
        ["experiment=max_regression", "optimizer=sgd,adam", "seed=1,2", "torch_threads=null,1",
         "optimizer.lr=tag(log, interval(0.0001, 0.01))", "+model.width=range(8,24,8)",
         "hydra.launcher.n_jobs=2,4", "data.batch_size=64"]
    )  # fmt: skip
    assert domains == {
        "optimizer": ["sgd", "adam"],
        "seed": [1, 2],
        "torch_threads": [None, 1],
        "optimizer.lr": (0.0001, 0.01),
        "model.width": [8, 16],
    }


def test_sweep_domains_are_empty_outside_a_multirun(monkeypatch):
    from hydra.core.hydra_config import HydraConfig

    monkeypatch.setattr(HydraConfig.instance(), "cfg", None)  # another test's app, if any
    assert sweep_domains() == {}  # no Hydra app here: a single run varies nothing


def _cfg(**overrides):
    cfg = {
        "seed": 2,
        "torch_threads": None,
        "data": {"batch_size": 64, "normalize": True},
        "model": {"_target_": "convlab.models.mlp.MLP", "width": 16},
        "optimizer": {"_target_": "torch.optim.Adam", "lr": 0.001},
    }
    cfg.update(overrides)
    return OmegaConf.create(cfg)


def test_columns_put_the_swept_keys_first_and_type_them_for_the_whole_sweep():
    domains = {"optimizer": ["sgd", "adam"], "seed": [1, 2], "torch_threads": [None, 1]}
    choices = {"optimizer": "adam", "model": "mlp", "data": "pairs"}
    columns, values = hparam_columns(_cfg(), domains, choices)
    assert [(c.name, c.type) for c in columns] == [
        ("optimizer", STRING),
        ("seed", STRING),  # whole numbers as their digits, not TensorBoard's "2.0000"
        ("torch_threads", STRING),  # numbers and null: a string column, "null" a value
        ("model", STRING),
        ("optimizer.lr", NUMBER),
        ("data.batch_size", STRING),
    ]
    assert values == {"optimizer": "adam", "seed": 2, "torch_threads": None, "model": "mlp",
                      "optimizer.lr": 0.001, "data.batch_size": 64}  # fmt: skip

    start = metadata.parse_session_start_info_plugin_data(
        session_start_summary(values, columns).value[0].metadata.plugin_data.content
    )
    assert start.hparams["seed"].string_value == "2"  # an int stays an int, not "2.0"
    assert start.hparams["torch_threads"].string_value == "null"
    assert start.hparams["optimizer"].string_value == "adam"
    assert start.hparams["data.batch_size"].string_value == "64"
    assert start.hparams["optimizer.lr"].number_value == 0.001


def test_columns_without_hydra_name_a_group_by_its_class_and_skip_missing_keys():
    cfg = _cfg()
    del cfg["seed"]
    columns, values = hparam_columns(cfg, domains={}, choices={})
    assert values == {"model": "MLP", "optimizer": "Adam", "optimizer.lr": 0.001,
                      "data.batch_size": 64}  # fmt: skip
    assert [column.name for column in columns] == list(values)


def test_metric_names_lead_with_the_monitored_metric_then_pair_val_and_test():
    task = RegressionTask(MLP(width=4), partial(torch.optim.Adam, lr=1e-3))
    cfg = OmegaConf.create({"monitor": {"metric": "val/mae"}})
    assert metric_names(task, cfg) == [
        "val/mae", "test/mae", "val/mse", "test/mse", "val/loss", "test/loss", "train/loss",
    ]  # fmt: skip
    # Without the task: the monitored metric and the loss.
    assert metric_names(None, OmegaConf.create({"monitor": {"metric": "val/acc"}})) == [
        "val/acc", "test/acc", "val/loss", "test/loss", "train/loss",
    ]  # fmt: skip


def test_scalar_layout_puts_train_and_val_of_each_metric_on_one_chart():
    layout = scalar_layout(["val/acc", "test/acc", "val/loss", "test/loss", "train/loss"])
    assert layout == {
        "train vs val": {
            "acc": ["Multiline", ["^train/acc$", "^val/acc$"]],
            "loss": ["Multiline", ["^train/loss$", "^val/loss$"]],
        }
    }
