"""The HParams experiment: which columns, in which order, typed how; on hand-made inputs."""

import json
from functools import partial
from types import SimpleNamespace

import torch
from omegaconf import OmegaConf
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

from convlab.callbacks.hparams import (
    hparam_columns,
    metric_names,
    scalar_layout,
    session_start_summary,
    trial_name,
)
from convlab.models.mlp import MLP
from convlab.report.tensorboard_index import final_metrics, merged_experiment
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


def _in_multirun(monkeypatch, multirun: bool) -> None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    mode = RunMode.MULTIRUN if multirun else RunMode.RUN
    monkeypatch.setattr(HydraConfig.instance(), "cfg", OmegaConf.create({"hydra": {"mode": mode}}))


def test_trial_names_are_the_run_id_the_swept_values_and_a_members_seed(monkeypatch, tmp_path):
    sweep = tmp_path / "multiruns" / "2026-01-01_00-00-00-3fa9c1"
    cfg = _cfg(paths={"output_dir": str(sweep / "1_optimizer=adam,seed=2")})
    _in_multirun(monkeypatch, True)
    assert trial_name(cfg, {"optimizer": "adam", "seed": 2}) == "3fa9c1/adam,2"
    assert trial_name(cfg, {}) == "3fa9c1/1_optimizer=adam,seed=2"  # nothing parsed: the job
    _in_multirun(monkeypatch, False)
    run = _cfg(paths={"output_dir": str(tmp_path / "runs" / "2026-01-01_00-00-00-77ab01")})
    assert trial_name(run, {}) == "77ab01"
    members = SimpleNamespace(seeds=[2, 3])
    assert trial_name(run, {}, members) == "77ab01/seed=2"  # _cfg's seed: one member's
    # Another folder name is not unique (rows of one name would merge): its path's hash too.
    a, b = (_cfg(paths={"output_dir": str(tmp_path / d / "run")}) for d in "ab")
    assert trial_name(a, {}).startswith("run-") and trial_name(a, {}) != trial_name(b, {})


def _start(**values) -> plugin_data_pb2.SessionStartInfo:
    return metadata.parse_session_start_info_plugin_data(
        session_start_summary(values).value[0].metadata.plugin_data.content
    )


def test_the_index_types_each_column_by_every_runs_value(tmp_path):
    sessions = {tmp_path / "a": _start(model="lenet", lr=0.1, seed=1, flag=True, width=8),
                tmp_path / "b": _start(model="mlp", lr=0.1, seed=1, flag=True, width=0.5),
                tmp_path / "c": _start(model="mlp", lr=0.3, seed=1)}  # fmt: skip
    infos = {info.name: info for info in merged_experiment(sessions).hparam_infos}
    assert {name for name, info in infos.items() if info.differs} == {"model", "lr", "flag",
                                                                      "width"}  # fmt: skip
    assert infos["model"].type == STRING
    assert [v.string_value for v in infos["model"].domain_discrete.values] == ["lenet", "mlp"]
    assert infos["lr"].type == NUMBER and infos["lr"].domain_interval.max_value == 0.3
    assert infos["flag"].type == api_pb2.DATA_TYPE_BOOL  # lacking in c: differs
    # "8" (whole numbers are text) and 0.5: text, without a domain that would hide one of them.
    assert infos["width"].type == STRING and not infos["width"].HasField("domain_discrete")
    assert not infos["seed"].differs
    # No metrics.json: no final metric known to be common; train/loss, which every task logs.
    assert [m.name.tag for m in merged_experiment(sessions).metric_infos] == ["train/loss"]


def test_the_index_lists_the_final_metrics_every_completed_run_has(tmp_path):
    records = {"lenet": ("completed", ["val/acc", "test/acc", "val/loss", "test/loss"]),
               "lenet2": ("completed", ["test/loss", "val/loss", "val/acc", "test/acc"]),
               "stopped": ("interrupted", ["val/acc", "val/loss"]),  # not tested: no test/*
               "running": None}  # fmt: skip
    for name, record in records.items():
        (tmp_path / name).mkdir()
        if record:
            status, names = record
            text = json.dumps({"status": status, "metrics": dict.fromkeys(names, 0.5)})
            (tmp_path / name / "metrics.json").write_text(text)
    folders = [tmp_path / name for name in records]
    # Paired by metric, val before test, the loss last: the monitored accuracy leads.
    assert final_metrics(folders) == ["val/acc", "test/acc", "val/loss", "test/loss", "train/loss"]
    regression = tmp_path / "regression"
    regression.mkdir()
    names = ["val/loss", "val/mse", "test/loss", "val/mae", "test/mae"]
    record = {"status": "completed", "metrics": dict.fromkeys(names)}
    (regression / "metrics.json").write_text(json.dumps(record))
    assert final_metrics([regression]) == [
        "val/mae", "test/mae", "val/mse", "val/loss", "test/loss", "train/loss"]  # fmt: skip
    assert final_metrics([*folders, regression]) == ["val/loss", "test/loss", "train/loss"]
