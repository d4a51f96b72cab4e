"""Config checking (convlab.runner.check): every shipped config passes; each kind
of mistake is named with the allowed keys or values."""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Literal

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException

from convlab.runner.check import ConfigError, find_problems, unwritable, validate_config
from convlab.runner.check.composition import explain
from convlab.runner.check.signature import accepts, locate
from convlab.runner.check.types import mismatch
from tests.conftest import CONF_DIR, compose_config

# Groups whose options each build an object; every option must pass validation as shipped.
OBJECT_GROUPS = ("data", "model", "task", "optimizer", "trainer", "callbacks", "logger")
GLOBAL_GROUPS = ("experiment", "sweep", "hparams_search", "debug")


def _options(*groups: str) -> list[str]:
    return [
        f"{group}={path.stem}"
        for group in groups
        for path in sorted((CONF_DIR / group).glob("*.yaml"))
    ]


@pytest.fixture
def any_machine(monkeypatch):
    """A machine where every trainer option fits (GPUs, cores): these tests are about the config;
    tests/runner/test_environment.py checks the config against the machine."""
    monkeypatch.setattr("convlab.runner.check.environment.cuda_devices", lambda: 8)
    monkeypatch.setattr("convlab.runner.check.environment.available_cores", lambda: 64)


@pytest.mark.parametrize("choice", _options(*GLOBAL_GROUPS))
def test_every_experiment_sweep_and_debug_config_is_valid(choice, tmp_path, any_machine):
    assert find_problems(compose_config([choice], tmp_path)) == []


@pytest.mark.parametrize("choice", _options(*OBJECT_GROUPS))
def test_every_option_of_every_group_is_valid(choice, tmp_path, any_machine):
    assert find_problems(compose_config([choice], tmp_path)) == []


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        (["+model.widht=8"], "model.widht: no such key for LeNet. "
         "Allowed: activation, in_channels, init, num_classes, pooling."),
        (["+trainer.max_epoch=3"], "trainer.max_epoch: no such key for Trainer. "
         "Did you mean trainer.max_epochs?"),
        (["data.batch_size=abc"], "data.batch_size=abc: expected an integer "
         "(FashionMNISTDataModule.batch_size)."),
        (["data.batch_size=0"], "data.batch_size=0: must be a positive integer."),
        (["data.eval_batch_size=-5"], "data.eval_batch_size=-5: must be a positive integer."),
        (["optimizer.lr=-1"], "optimizer.lr=-1: must be a positive number."),
        (["optimizer.lr=fast"], "optimizer.lr=fast: expected a number or Tensor (SGD.lr)."),
        (["model.pooling=median"], "model.pooling=median: expected one of avg, max, strided "
         "(LeNet.pooling)."),
        (["experiment=max_regression", "data.normalization=log"],
         "data.normalization=log: expected one of none, unit, standard "
         "(PairDataModule.normalization)."),
        (["experiment=max_regression", "model.width=0"], "model.width=0: must be a positive"),
        (["experiment=max_regression", "data.low=5", "data.high=1"],
         "data.low must be below data.high (got low=5, high=1)."),
        (["test_ckpt=worst"], "test_ckpt=worst: expected one of best, last."),
        (["monitor.mode=up"], "monitor.mode=up: expected one of min, max."),
        (["+monitor.metirc=val/acc"], "monitor.metirc: no such key. Did you mean monitor.metric?"),
        (["+tset_ckpt=last"], "tset_ckpt: no such top-level key. Did you mean test_ckpt?"),
        (["seed=-3"], "seed=-3: must be an integer in [0, 2**32)."),
        (["seed=1.5"], "seed=1.5: expected an integer or null."),
        (["torch_threads=0"], "torch_threads=0: must be a positive integer (or null)."),
        (["trainer.max_steps=0"], "trainer.max_steps=0: must be a positive integer, or -1"),
        (["trainer.precision=33"], "trainer.precision=33: expected one of 64, 32, 16,"),
        (["+callbacks.foo.bar=1"], "callbacks.foo: an entry needs a _target_"),
        (["model._target_=convlab.models.lenet.LeNett"], "model._target_=convlab.models.lenet."
         "LeNett: cannot be imported (convlab.models.lenet has no LeNett; did you mean "
         "convlab.models.lenet.LeNet?)."),
        (["ckpt_path=/nonexistent/last.ckpt"], "ckpt_path=/nonexistent/last.ckpt: no such"),
    ],
)  # fmt: skip
def test_each_mistake_is_named(overrides, problem, tmp_path):
    problems = find_problems(compose_config(overrides, tmp_path))
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem)


def test_several_mistakes_are_listed_together(tmp_path):
    cfg = compose_config(["data.batch_size=0", "model.pooling=median"], tmp_path)
    with pytest.raises(ConfigError) as raised:
        validate_config(cfg)
    assert str(raised.value).splitlines() == [
        "2 problems in the config:",
        "  - data.batch_size=0: must be a positive integer.",
        "  - model.pooling=median: expected one of avg, max, strided (LeNet.pooling).",
    ]


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [
        (3, int, None),
        (True, int, "an integer"),
        (3, float, None),
        ("3", float, "a number"),
        (None, int | None, None),
        (None, int, "an integer"),
        ("max", Literal["avg", "max"], None),
        ("mean", Literal["avg", "max"], "one of avg, max"),
        (16, Literal[16, 32] | Literal["bf16"] | None, None),
        ([1, 2], list[int], None),
        ([1, "a"], list[int], "a list"),
        ({"a": 1}, dict[str, int], None),
        ("x", Path, None),
        ("x", os.PathLike, None),
        (object(), typing.Any, None),
    ],
)
def test_annotation_check(value, annotation, expected):
    assert mismatch(value, annotation) == expected


def test_keyword_arguments_are_followed_into_the_parent_class():
    dropout = accepts("tests.faults.DropoutLeNet")
    assert {"p", "pooling", "activation"} <= set(dropout.params) and not dropout.open
    checkpoint = accepts("convlab.callbacks.checkpoint.ResumableCheckpoint")
    assert {"last_every_n_steps", "monitor", "save_last"} <= set(checkpoint.params)
    assert not checkpoint.open


def test_unimportable_target_suggests_the_closest_name():
    with pytest.raises(
        ImportError, match=r"torch\.optim has no Adamm; did you mean torch\.optim\.Adam"
    ):
        locate("torch.optim.Adamm")


def _composition_error(overrides: list[str]) -> Exception:
    with pytest.raises(ConfigCompositionException) as raised:
        compose(config_name="train", overrides=overrides)
    return raised.value


def test_hydra_composition_errors_are_retold():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cases = {
            "trainer.max_epoch=3": "trainer.max_epoch: no such key for Trainer. "
            "Did you mean trainer.max_epochs?",
            "experiment=lenett": "experiment=lenett: no such experiment config. "
            "Did you mean experiment=lenet? Available: ",
            "modle=lenet": "modle: no such top-level key or config group. Did you mean model?",
            "+model.pooling=max": "+model.pooling: model.pooling already exists; "
            "set it without the '+' (model.pooling=...).",
            "data.nope.deeper=1": "data.nope.deeper: data.nope is not in this config",
        }
        for override, expected in cases.items():
            error = _composition_error([override, "seed=1,2"][:1])
            assert explain(error, "train", [override, "seed=1,2"]).startswith(expected)
    GlobalHydra.instance().clear()


def test_unwritable_output_folder_is_detected(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    assert unwritable(tmp_path / "file" / "run") == f"{tmp_path / 'file'} is a file, not a folder"
    assert unwritable(tmp_path / "new" / "run") is None
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # a read-only folder, as non-root
    assert unwritable(tmp_path / "new" / "run") == f"{tmp_path} is not writable"
