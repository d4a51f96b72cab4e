"""Config checking (convlab.runner.check): every shipped config passes; each kind
of mistake is named with the allowed keys or values."""

from __future__ import annotations

import enum
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any, Literal

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException
from hydra.types import RunMode
from omegaconf import OmegaConf, open_dict

from convlab.runner.check.targets import (
    BOUNDS,
    MAX_LISTED,
    closest,
    explain,
    listing,
    locate,
    target,
    unknown_key,
)
from convlab.runner.check.validate import (
    ConfigError,
    check_jobs,
    find_problems,
    repeated_job,
    sweep_problems,
    unwritable,
    validate_config,
)
from convlab.runner.cli import first_job_problem
from convlab.runner.job import ValidateConfig
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


@pytest.fixture(autouse=True)
def _fresh_signatures():
    """``target`` and the primary keys are cached per process: every test reads them itself
    (so each test checks the code it runs, whichever test ran first)."""
    from convlab.runner.check.validate import _keys_of

    target.cache_clear()
    _keys_of.cache_clear()


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
         "Allowed: activation, channels_last, in_channels, init, num_classes, pooling."),
        (["+model.poolin=max"], "model.poolin: no such key for LeNet. Did you mean "
         "model.pooling? Allowed: activation, channels_last, in_channels, init, num_classes, "
         "pooling."),
        (["trainer.max_epochs=0", "trainer.min_epochs=0"],
         "trainer.max_epochs=0: must be a positive integer, or -1 for no limit."),
        (["trainer.min_epochs=-1"], "trainer.min_epochs=-1: must be an integer >= 0."),
        (["trainer.min_epochs=5", "trainer.max_epochs=2"], "trainer.min_epochs must not exceed "
         "trainer.max_epochs (got min_epochs=5, max_epochs=2)."),
        (["+trainer.max_epoch=3"], "trainer.max_epoch: no such key for Trainer. "
         "Did you mean trainer.max_epochs?"),
        (["data.batch_size=abc"], "data.batch_size=abc: expected an integer "
         "(FashionMNISTDataModule.batch_size)."),
        (["data.batch_size=0"], "data.batch_size=0: must be a positive integer."),
        (["data.eval_batch_size=-5"], "data.eval_batch_size=-5: must be a positive integer."),
        (["optimizer.lr=-1"], "optimizer.lr=-1: must be a positive, finite number."),
        (["optimizer.lr=inf"], "optimizer.lr=inf: must be a positive, finite number."),
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


# Every bound: a value it refuses (with the requirement named) and the edge it accepts, through
# a composed config: (the overrides that give the key its context, key, bad, good, requirement).
PAIRS, EARLY, MLP = ["experiment=max_regression"], ["callbacks=early_stopping"], ["model=mlp"]
BOUND_CASES = [
    ([], "seed", -1, 0, "an integer in [0, 2**32)"),
    ([], "seed", 2**32, 2**32 - 1, "an integer in [0, 2**32)"),
    ([], "torch_threads", 0, 1, "a positive integer (or null)"),
    ([], "members", 0, 1, "a positive integer"),
    ([], "data.batch_size", 0, 1, "a positive integer"),
    ([], "data.eval_batch_size", -1, 1, "a positive integer"),
    ([], "data.val_size", 0, 1, "a positive integer"),
    (PAIRS, "data.n_train", 0, 1, "a positive integer"),
    (PAIRS, "data.n_val", 0, 1, "a positive integer"),
    (PAIRS, "data.n_test", 0, 1, "a positive integer"),
    (PAIRS, "data.steps_per_batch", 0, 1, "a positive integer"),
    (["data=patch_max", "model=patch_relu"], "data.n_train", 0, 1, "a positive integer"),
    (["experiment=edge_kernel"], "data.height", 0, 2, "a positive integer"),
    (["experiment=edge_kernel"], "data.width", 0, 6, "a positive integer"),
    ([], "optimizer.lr", 0.0, 1e-9, "a positive, finite number"),
    ([], "optimizer.weight_decay", -1e-9, 0.0, "a number >= 0"),
    ([], "optimizer.momentum", -0.5, 0, "a number >= 0"),
    (["optimizer=adam_then_sgd"], "optimizer.sgd_lr", 0.0, 1e-9, "a positive number"),
    (["optimizer=adam_then_sgd"], "optimizer.switch_epoch", -1, 0, "an integer >= 0"),
    (MLP, "model.width", 0, 1, "a positive integer"),
    (MLP, "model.depth", -1, 0, "an integer >= 0"),
    (MLP, "model.in_features", 0, 1, "a positive integer"),
    (["model=gated"], "model.width", 0, 1, "a positive integer"),
    (["model=residual_mlp"], "model.blocks", -1, 0, "an integer >= 0"),
    (["model=patch_relu"], "model.depth", 0, 1, "a positive integer"),
    (
        ["trainer.min_epochs=0"],
        "trainer.max_epochs",
        0,
        -1,
        "a positive integer, or -1 for no limit",
    ),
    (
        ["trainer.min_epochs=0"],
        "trainer.max_epochs",
        -2,
        1,
        "a positive integer, or -1 for no limit",
    ),
    ([], "trainer.max_steps", -2, -1, "a positive integer, or -1 for no limit"),
    ([], "trainer.min_epochs", -1, 0, "an integer >= 0"),
    ([], "trainer.devices", 0, -1, "a positive integer, -1, 'auto' or a list"),
    ([], "trainer.devices", -2, 1, "a positive integer, -1, 'auto' or a list"),
    ([], "+trainer.accumulate_grad_batches", 0, 1, "a positive integer"),
    ([], "trainer.log_every_n_steps", 0, 1, "a positive integer"),
    ([], "trainer.check_val_every_n_epoch", 0, 1, "a positive integer (or null)"),
    ([], "trainer.gradient_clip_val", -0.1, 0.0, "a number >= 0"),
    (EARLY, "callbacks.early_stopping.patience", -1, 0, "an integer >= 0"),
    ([], "+callbacks.model_checkpoint.every_n_train_steps", -1, 0, "an integer >= 0"),
    ([], "callbacks.model_checkpoint.last_every_n_steps", 0, 1, "a positive integer"),
]


@pytest.mark.parametrize(("context", "key", "bad", "good", "requirement"), BOUND_CASES)
def test_each_bound(context, key, bad, good, requirement, tmp_path, any_machine):
    name = key.lstrip("+")
    bad_problems = find_problems(compose_config([*context, f"{key}={bad}"], tmp_path))
    assert bad_problems[:1] == [f"{name}={bad}: must be {requirement}."]
    assert all(problem.startswith(("trainer.min_epochs must", name)) for problem in bad_problems)
    assert find_problems(compose_config([*context, f"{key}={good}"], tmp_path)) == []


def test_every_bound_of_a_library_class_has_a_case():
    assert {param for _, param in BOUNDS} <= {key.rpartition(".")[2] for _, key, *_ in BOUND_CASES}


@pytest.mark.parametrize(("key", "value"), [("data.batch_size", "abc"), ("data.batch_size", True),
                                            ("optimizer.lr", None), ("seed", "x")])  # fmt: skip
def test_bounds_leave_other_types_to_the_type_check(key, value, tmp_path):
    (problem,) = find_problems(compose_config([f"{key}={value}"], tmp_path))
    assert ": expected " in problem and "must be" not in problem


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["experiment=max_regression", "data.low=5", "data.high=1"],
         ["data.low must be below data.high (got low=5, high=1)."]),
        (["data=patch_max", "model=patch_relu", "data.low=1", "data.high=1"],
         ["data.low must be below data.high (got low=1, high=1)."]),
        (["experiment=max_regression", "data.low=0", "data.high=1"], []),
        (["trainer.min_epochs=3", "trainer.max_epochs=2"], ["trainer.min_epochs must not exceed "
         "trainer.max_epochs (got min_epochs=3, max_epochs=2)."]),
        (["trainer.min_epochs=2", "trainer.max_epochs=2"], []),
        (["trainer.min_epochs=5", "trainer.max_epochs=-1"], []),  # -1: no limit
    ],
)  # fmt: skip
def test_rules_between_two_keys(overrides, expected, tmp_path):
    assert find_problems(compose_config(overrides, tmp_path)) == expected


def test_rules_between_two_keys_judge_numbers_only():
    cfg = {"data": {"low": 0, "high": "${oops}"}, "trainer": {"min_epochs": True, "max_epochs": 0},
           "model": {"low": 5, "high": 1}}  # the rule is data's, not any node's  # fmt: skip
    assert find_problems(OmegaConf.create(cfg)) == []


def test_suggestion_keeps_the_allowed_keys_when_they_are_few():
    allowed = ["width", "depth", "activation"]
    assert unknown_key("model", "widht", allowed, "MLP") == (
        "model.widht: no such key for MLP. Did you mean model.width? "
        "Allowed: activation, depth, width."
    )
    assert unknown_key("model", "zzz", allowed, "MLP") == (
        "model.zzz: no such key for MLP. Allowed: activation, depth, width."
    )
    assert unknown_key("", "sed", ["seed", "seed"], "the config") == (
        "sed: no such key for the config. Did you mean seed? Allowed: seed."
    )


def test_many_allowed_keys_are_shortened():
    many = sorted(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
                   "kappa", "lambda", "mu", "nu", "xi", "omicron"])  # fmt: skip
    assert len(many) == MAX_LISTED + 3
    assert (
        unknown_key("x", "bta", many, "Big") == "x.bta: no such key for Big. Did you mean x.beta?"
    )
    assert unknown_key("x", "zzz", many, "Big").endswith(
        f"Allowed: {', '.join(many[:MAX_LISTED])}, … (3 more)."
    )
    assert listing(many[:MAX_LISTED]) == ", ".join(many[:MAX_LISTED])
    assert closest("zzz", many) is None and closest("kapa", many) == "kappa"


def test_several_mistakes_are_listed_together(tmp_path):
    cfg = compose_config(["data.batch_size=0", "model.pooling=median"], tmp_path)
    with pytest.raises(ConfigError) as raised:
        validate_config(cfg)
    assert str(raised.value).splitlines() == [
        "2 problems in the config:",
        "  - data.batch_size=0: must be a positive integer.",
        "  - model.pooling=median: expected one of avg, max, strided (LeNet.pooling).",
    ]


def test_keyword_arguments_are_followed_into_the_parent_class():
    dropout = target("tests.faults.DropoutLeNet")
    assert {"p", "pooling", "activation"} <= set(dropout.model_fields)
    checkpoint = target("convlab.callbacks.checkpoint.ResumableCheckpoint")
    assert {"last_every_n_steps", "monitor", "save_last"} <= set(checkpoint.model_fields)
    for closed in (dropout, checkpoint):
        assert closed.model_config["extra"] == "forbid"


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


def _sweep_config(tmp_path, task_overrides: list[str], params: dict | None = None):
    cfg = compose_config([], tmp_path / "run")
    for node in (cfg, cfg.hydra, cfg.hydra.overrides, cfg.hydra.sweeper, cfg.hydra.sweep):
        OmegaConf.set_readonly(node, False)
    with open_dict(cfg):
        cfg.hydra.overrides.task = task_overrides
        cfg.hydra.sweeper.params = params
        cfg.hydra.sweep.dir = str(tmp_path / "sweep")
    return cfg


def _one_run(overrides: list[str], folder: Path) -> str | None:
    problem = first_job_problem(CONF_DIR.parent / "train.py", "train", [*overrides,
                                f"hydra.run.dir={folder}"])  # fmt: skip
    GlobalHydra.instance().clear()
    return problem


def test_a_bad_run_is_refused_before_hydra_makes_any_folder(tmp_path):
    assert _one_run(["data.batch_size=0"], tmp_path / "run") == (
        "data.batch_size=0: must be a positive integer."
    )
    assert not (tmp_path / "run").exists()
    assert _one_run([], tmp_path / "run") is None  # a good one passes
    assert _one_run(["-m", "data.batch_size=0"], tmp_path / "run") is None  # ValidateConfig's


def test_a_run_into_an_unwritable_folder_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    assert _one_run([], tmp_path / "file" / "run").startswith(
        f"hydra.run.dir={tmp_path / 'file' / 'run'}: cannot write the run's output there "
        f"({tmp_path / 'file'} is a file, not a folder)."
    )


def _multirun_start(cfg) -> None:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        ValidateConfig().on_multirun_start(cfg, config_name="train")
    GlobalHydra.instance().clear()


def test_sweep_jobs_are_checked_up_front(tmp_path, capsys):
    """A typo in one swept value stops the sweep before its first job, named once."""
    cfg = _sweep_config(tmp_path, ["data.batch_size=8,0", "seed=1,2"], {"model.pooling": "max"})
    with pytest.raises(SystemExit):
        _multirun_start(cfg)
    err = capsys.readouterr().err.splitlines()
    assert err == ["error: data.batch_size=0: must be a positive integer."]
    cfg = _sweep_config(tmp_path, ["data.batch_size=8,16"], {"model.pooling": "avg,median"})
    with pytest.raises(SystemExit):
        _multirun_start(cfg)
    assert "model.pooling=median: expected one of avg, max, strided" in capsys.readouterr().err
    cfg = _sweep_config(tmp_path, ["experiment=lenet,lenett"])
    with pytest.raises(SystemExit):
        _multirun_start(cfg)
    assert "experiment=lenett: no such experiment config" in capsys.readouterr().err
    _multirun_start(_sweep_config(tmp_path, ["seed=1,2"]))
    assert not (tmp_path / "sweep").exists()


# --- the pieces of the checks, one by one ------------------------------------------------------


def test_overrides_without_a_key_and_sweeps_at_their_first_value():
    from convlab.runner.overrides import first_job

    overrides = ["a.b=1", "seed=3,4,5", "x=1", "c=[1,2]", "a.b=2", "lr=range(1,3)", "d=2"]
    assert first_job(overrides, without="a.b") == ["seed=3", "x=1", "c=[1,2]", "lr=1", "d=2"]


def test_unknown_keys_are_named_with_what_the_target_accepts():
    from convlab.runner.check.targets import _unknown_key

    GlobalHydra.instance().clear()
    assert _unknown_key("trainer.max_epoch", "train", ["trainer.max_epoch=3"]) is None
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        message = _unknown_key("trainer.max_epoch", "train", ["trainer.max_epoch=3", "seed=1,2"])
        assert message.startswith("trainer.max_epoch: no such key for Trainer.")
        # The target's parameters join the config's keys; Hydra's _target_ is never offered.
        message = _unknown_key("optimizer.betass", "train", ["optimizer=adam"])
        assert "Did you mean optimizer.betas?" in message and "_target_" not in message
        assert "optimizer.lr" in message or "lr" in message
        message = _unknown_key("data.bach_size", "train", ["data=fashion_mnist"])
        assert "Did you mean data.batch_size?" in message
        not_a_group = "seed.x: seed is a value, not a group of keys."
        assert _unknown_key("seed.x", "train", []) == not_a_group
        assert _unknown_key("zzzzzz", "train", []) == (
            "zzzzzz: no such top-level key or config group."
        )
        assert "Did you mean hydra" not in (_unknown_key("hydr", "train", []) or "")
        # A composition that fails again gives Hydra's own message back.
        assert _unknown_key("trainer.max_epoch", "train", ["experiment=nope"]) is None
    GlobalHydra.instance().clear()


def test_a_guess_among_exactly_max_listed_keys_still_lists_them():
    allowed = sorted(["width", *(f"zz{i:02d}" for i in range(MAX_LISTED - 1))])
    message = unknown_key("model", "widht", allowed, "Net")
    assert message == (
        f"model.widht: no such key for Net. Did you mean model.width? Allowed: {listing(allowed)}."
    )
    longer = unknown_key("model", "widht", [*allowed, "zz99"], "Net")
    assert longer == "model.widht: no such key for Net. Did you mean model.width?"


def test_unimportable_targets_are_one_line_each():
    with pytest.raises(ImportError) as error:
        locate("torch.optim.zzzzqqq")
    assert str(error.value) == "torch.optim has no zzzzqqq"  # nothing close: no guess
    for name in ("nosuchpkg_zz.Thing", "tests.faults_nope.X"):
        with pytest.raises(ImportError) as error:
            locate(name)
        module = name.rpartition(".")[0]
        assert str(error.value) == f"ModuleNotFoundError: No module named '{module}'"


def test_unwritable_asks_for_write_and_search_permission(tmp_path, monkeypatch):
    import convlab.runner.check.validate as jobs

    asked = []
    monkeypatch.setattr(jobs.os, "access", lambda path, mode: asked.append((path, mode)) or False)
    assert unwritable(tmp_path / "new" / "run") == f"{tmp_path} is not writable"
    assert asked == [(tmp_path, os.W_OK | os.X_OK)]


def test_each_sweep_job_is_checked_and_each_problem_said_once():
    def members_of_two(cfg):
        return ["members=2: checked"] if cfg.members == 2 else []

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        problems = check_jobs("train", [["trainer.max_epoch=3"], ["trainer.max_epoch=3"],
                                        ["experiment=lenett"], ["members=2"], ["members=2"]],
                              [members_of_two])  # fmt: skip
        assert check_jobs("train", [["members=2"]]) == []  # nothing but what is asked for
    GlobalHydra.instance().clear()
    assert len(problems) == 3
    assert problems[0].startswith("trainer.max_epoch: no such key for Trainer. Did you mean")
    assert problems[1].startswith("experiment=lenett: no such experiment config.")
    assert problems[2] == "members=2: checked"


# --- values against annotations, said in words (a target of this module) ----------------------


class Color(enum.Enum):
    RED = 1


def kinds(a_int: int = 0, a_float: float = 0.0, a_bool: bool = False, a_str: str = "",
          either: int | str = 0, maybe: int | None = 0, choice: Literal[1, 2] = 1,
          names: Literal["a", "b"] | Literal["c"] | None = "a", items: list[int] | None = None,
          mapping: dict[str, int] | None = None, path: Path = Path("."),
          pathlike: os.PathLike | None = None, tensor: torch.Tensor | None = None,
          anything: Any = None, pair: tuple[int, ...] = (), untyped=None,
          color: Color = Color.RED):  # fmt: skip
    """A target with one parameter of each kind a signature may declare."""


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        # Scalars: true is not a number, an integer is a number, "3" is a string.
        ("a_int", 3, None), ("a_int", True, "an integer"), ("a_int", 3.0, "an integer"),
        ("a_int", "3", "an integer"), ("a_float", 3, None), ("a_float", 3.5, None),
        ("a_float", "3", "a number"), ("a_float", False, "a number"), ("a_bool", True, None),
        ("a_bool", 1, "true or false"), ("a_str", "x", None), ("a_str", 3, "a string"),
        # Unions: one member that fits is enough; null where the annotation allows it.
        ("either", "x", None), ("either", 2.5, "an integer or a string"),
        ("maybe", None, None), ("maybe", "x", "an integer or null"),
        # Literal choices, several Literals merged into one list.
        ("choice", 2, None), ("choice", "1", "one of 1, 2"), ("names", "c", None),
        ("names", "d", "one of a, b, c or null"),
        # Lists and mappings, items included.
        ("items", [1, 2], None), ("items", [1, "a"], "a list or null"),
        ("items", 3, "a list or null"),
        ("mapping", {"a": 1}, None), ("mapping", [1], "a mapping or null"),
        ("pair", [1, 2], None), ("pair", ["a"], "a list"),
        # A path from a string; a class a config cannot write needs a nested _target_.
        ("path", "x", None), ("pathlike", "x", None), ("tensor", 3, "Tensor or null"),
        ("tensor", {"_target_": "torch.zeros", "_args_": [1]}, None),
        # What the signature leaves open takes anything.
        ("anything", {"a": 1}, None), ("untyped", [1, "a"], None), ("color", 1, None),
    ],
)  # fmt: skip
def test_a_value_against_its_annotation(key, value, expected):
    HydraConfig.instance().cfg = None
    problems = find_problems(OmegaConf.create({"model": {"_target_": f"{__name__}.kinds",
                                                         key: value}}))  # fmt: skip
    shown = str(value).lower() if isinstance(value, bool) else value
    assert problems == ([] if expected is None else
                        [f"model.{key}={shown}: expected {expected} (kinds.{key})."])  # fmt: skip


def test_a_target_whose_annotations_cannot_be_resolved_still_has_its_keys_checked():
    def unresolved(a: int, b: NoSuchName = None): ...  # noqa: F821

    unresolved.__module__ = __name__
    globals()["unresolved"] = unresolved
    model = {"_target_": f"{__name__}.unresolved", "a": "x", "b": 1, "c": 1}
    assert find_problems(OmegaConf.create({"model": model})) == [
        "model.c: no such key for test_a_target_whose_annotations_cannot_be_resolved_still_has_its"
        "_keys_checked.<locals>.unresolved. Allowed: a, b."
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [("", "''"), ("x", "x"), (True, "true"), (False, "false"), (3, "3"), (2.5, "2.5"),
     ("True", "True"), (["Adam", 1], "['Adam', 1]")],
)  # fmt: skip
def test_values_are_shown_as_on_the_command_line(value, text):
    from convlab.runner.check.validate import show

    assert show(value) == text and show(None) == "null"


def test_a_value_not_set_yet_is_read_as_such():
    from convlab.runner.check.validate import MISSING, UNRESOLVED, read

    node = OmegaConf.create(
        {"a": "???", "b": "${nope}", "c": None, "d": "${c}", "e": [1, "???"], "f": "${e.0}"}
    )  # fmt: skip
    assert read(node, "a") is MISSING
    assert read(node, "b") is UNRESOLVED  # only Hydra's run can resolve it
    assert read(node, "c") is None
    assert read(node, "d") is UNRESOLVED  # an interpolation that is null until the run is set up
    assert read(node, "f") == 1
    assert read(node, "absent") is UNRESOLVED
    assert read(node.e, 0) == 1 and read(node.e, 1) is MISSING


# --- every node with a _target_, named groups, lists ---------------------------------------------
LINEAR = "torch.nn.Linear"
ALLOWED = "Allowed: bias, device, dtype, in_features, out_features."
HINT = "Did you mean model.in_features?"


def scaled(size, scale: float = 1.0):
    """A target with an unannotated parameter: any value may be passed as ``size``."""
    return [size * scale]


@pytest.mark.parametrize(
    ("model", "problems"),
    [
        ({"_target_": LINEAR, "in_features": 2, "out_features": 3}, []),
        ({"_target_": LINEAR, "inn": 1, "out_features": "x"},
         [f"model.inn: no such key for Linear. {ALLOWED}",
          "model.out_features=x: expected an integer (Linear.out_features)."]),
        ({"_target_": LINEAR, "in_features": "???", "out_features": "x"},
         ["model.in_features: must be set (model.in_features=...).",
          "model.out_features=x: expected an integer (Linear.out_features)."]),
        ({"_target_": LINEAR, "in_features": "${nope}", "out_features": "x"},
         ["model.out_features=x: expected an integer (Linear.out_features)."]),
        # a nested _target_ builds the value: its result is not judged from the config
        ({"_target_": LINEAR, "in_features": {"_target_": "builtins.int", "_args_": ["3"]},
          "out_features": "x"},
         ["model.out_features=x: expected an integer (Linear.out_features)."]),
        ({"_target_": LINEAR, "in_features": {"a": 1}, "out_features": 3},
         ["model.in_features={'a': 1}: expected an integer (Linear.in_features)."]),
        # null passes only where it is the default
        ({"_target_": LINEAR, "in_features": None, "out_features": 3, "device": None},
         ["model.in_features=null: expected an integer (Linear.in_features)."]),
        # special keys are Hydra's; a key only ending (or starting) with _ is not
        ({"_target_": LINEAR, "_partial_": True, "in_features_": 1, "_in_features": 1},
         [f"model.in_features_: no such key for Linear. {HINT} {ALLOWED}",
          f"model._in_features: no such key for Linear. {HINT} {ALLOWED}"]),
        ({"_target_": f"{__name__}.scaled", "size": "anything", "scale": "x"},
         ["model.scale=x: expected a number (scaled.scale)."]),
        ({"_target_": "torch.nn.Linearr"},
         ["model._target_=torch.nn.Linearr: cannot be imported (torch.nn has no Linearr; did you "
          "mean torch.nn.Linear?)."]),
        ({"_target_": 3, "anything": 1}, []),
        ({"_target_": "builtins.int", "anything": 1}, []),  # no signature to read: left alone
    ],
)  # fmt: skip
def test_a_target_node_against_its_signature(model, problems):
    HydraConfig.instance().cfg = None
    assert find_problems(OmegaConf.create({"model": model})) == problems


def test_lists_are_walked_with_each_items_index():
    model = {"stages": [1, {"_target_": LINEAR, "in_features": "y", "out_features": 1}]}
    assert find_problems(OmegaConf.create({"model": model})) == [
        "model.stages[1].in_features=y: expected an integer (Linear.in_features)."
    ]


def test_each_entry_of_a_named_group_builds_an_object_or_is_switched_off():
    cfg = OmegaConf.create(
        {"callbacks": {"off": None, "bad": 3, "plain": {"a": 1}, "later": "${nope}",
                       "ok": {"_target_": LINEAR, "in_features": 1, "out_features": 1}}}
    )  # fmt: skip
    entry = "an entry needs a _target_ (the class it builds), or null to switch it off."
    assert find_problems(cfg) == [f"callbacks.bad: {entry}", f"callbacks.plain: {entry}"]


def test_bounds_judge_the_values_that_are_set():
    pairs = "convlab.data.pairs.PairDataModule"
    unset = {
        "members": "???",
        "seed": "${nope}",
        "data": {"_target_": pairs, "batch_size": "???", "low": "${nope}", "high": 0},
    }
    assert find_problems(OmegaConf.create(unset)) == [
        "members: must be set (members=...).",
        "data.batch_size: must be set (data.batch_size=...).",
    ]
    wrong = {
        "members": 0,
        "data": {
            "_target_": pairs,
            "sub": {"_target_": pairs, "batch_size": -1},
            "batch_size": 0,
            "low": 2,
            "high": 1,
        },
    }
    assert find_problems(OmegaConf.create(wrong)) == [
        "members=0: must be a positive integer.",
        "data.sub: no such key for PairDataModule. Allowed: batch_size, eval_batch_size, high, "
        "low, n_test, n_train, n_val, normalization, shuffle_seed, steps_per_batch, target, "
        "test_seed, … (2 more).",
        "data.batch_size=0: must be a positive integer.",
        "data.low must be below data.high (got low=2, high=1).",
        "data.sub.batch_size=-1: must be a positive integer.",
    ]  # fmt: skip


def test_extra_checks_run_after_the_config_and_before_the_machine(monkeypatch):
    monkeypatch.setattr("convlab.runner.check.validate.environment_problems",
                        lambda cfg: ["machine"])  # fmt: skip
    cfg = OmegaConf.create({"members": 0})
    found = find_problems(cfg, extra_checks=[lambda c: ["first", "machine"], lambda c: ["second"]])
    assert found == ["members=0: must be a positive integer.", "first", "machine", "second"]
    assert find_problems(cfg) == ["members=0: must be a positive integer.", "machine"]


# --- the top-level keys, the keys a config declares itself, the checkpoint named ------------------


@pytest.fixture
def no_hydra_run():
    """Each test starts outside a Hydra run (another test may have left one set up)."""
    HydraConfig.instance().cfg = None
    yield
    HydraConfig.instance().cfg = None
    GlobalHydra.instance().clear()


def _top_level(values: dict) -> list[str]:
    return find_problems(OmegaConf.create(values))


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({"seed": 1, "members": 2, "test": False, "task_name": "t", "scheduler": 3}, []),
        ({"seed": None, "ckpt_path": None, "resume": None, "torch_threads": None}, []),
        ({"seed": 1.5}, ["seed=1.5: expected an integer or null."]),
        ({"members": "two"}, ["members=two: expected an integer."]),
        ({"test": "yes"}, ["test=yes: expected true or false."]),
        ({"task_name": 3}, ["task_name=3: expected a string."]),
        ({"test_ckpt": "worst"}, ["test_ckpt=worst: expected one of best, last."]),
        ({"seed": {"a": 1}}, ["seed={'a': 1}: expected an integer or null."]),
        ({"seed": "???"}, ["seed: must be set (seed=...)."]),
        ({"seed": "${nope}", "members": "${nope}"}, []),  # resolved only in Hydra's run
        # every key is checked, whatever came before it
        ({"seed": "???", "members": "two"},
         ["seed: must be set (seed=...).", "members=two: expected an integer."]),
        ({"monitor": 3, "torch_threads": "x"},
         ["monitor=3: expected a mapping of metric, mode.",
          "torch_threads=x: expected an integer or null."]),
        ({"monitor": {"metric": "m", "mode": "min"}, "torch_threads": "x"},
         ["torch_threads=x: expected an integer or null."]),
        ({"monitor": 3}, ["monitor=3: expected a mapping of metric, mode."]),
        ({"monitor": {"metric": "val/acc", "mode": "max"}}, []),
        ({"monitor": {"metric": 3}}, ["monitor.metric=3: expected a string."]),
        ({"monitor": {"metric": "???"}}, ["monitor.metric: must be set (monitor.metric=...)."]),
        ({"monitor": {"mode": "up", "metirc": "x"}}, [
            "monitor.metirc: no such key. Did you mean monitor.metric? Allowed: metric, mode.",
            "monitor.mode=up: expected one of min, max.",
        ]),
        ({"monitor": {"zzz": 1}}, ["monitor.zzz: no such key. Allowed: metric, mode."]),
        ({"ckpt_path": "???"}, ["ckpt_path: must be set (ckpt_path=...)."]),
        ({"ckpt_path": ""}, []),
        ({"ckpt_path": 3}, ["ckpt_path=3: expected a string or null."]),
        ({"ckpt_path": "/nonexistent/last.ckpt"},
         ["ckpt_path=/nonexistent/last.ckpt: no such checkpoint file."]),
        ({"unknown_key": 1}, []),  # outside a Hydra run the declared keys cannot be told
    ],
)  # fmt: skip
def test_top_level_values(values, problems, no_hydra_run):
    assert _top_level(values) == problems


def test_the_checkpoint_file_is_opened(tmp_path, no_hydra_run):
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"not a zip")
    assert _top_level({"ckpt_path": str(broken)}) == [
        f"ckpt_path={broken}: not a readable checkpoint (File is not a zip file); it may have "
        "been cut off while being written."
    ]
    readable = tmp_path / "readable.ckpt"
    with zipfile.ZipFile(readable, "w") as archive:
        archive.writestr("archive/data.pkl", b"")
    assert _top_level({"ckpt_path": str(readable)}) == []


def test_keys_of_the_primary_config_file(tmp_path):
    from convlab.runner.check.validate import _keys_of

    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (second / "train.yaml").write_text("defaults:\n  - _self_\nseed: 1\nnotes: x\n")
    assert _keys_of((str(first), str(second)), "train") == {"seed", "notes"}
    assert _keys_of((str(first),), "train") == set()
    assert _keys_of((str(second),), None) == set()
    assert _keys_of((str(second),), "eval") == set()


def test_each_entry_point_declares_its_own_keys(tmp_path, no_hydra_run):
    from convlab.runner.check.validate import _keys_of, _primary_keys

    assert _primary_keys() == set()
    compose_config([], tmp_path, "train")
    train = _primary_keys()
    assert {"seed", "members", "monitor", "test_ckpt"} <= train
    assert not {"defaults", "hydra"} & train
    _keys_of.cache_clear()
    compose_config(["ckpt_path=x.ckpt"], tmp_path, "eval")
    evaluate = _primary_keys()
    assert {"seed", "ckpt_path", "hydra"} <= evaluate and "members" not in evaluate


def test_an_experiment_may_set_a_run_key_the_entry_point_does_not_declare(tmp_path, no_hydra_run):
    """eval.yaml does not declare ``test_ckpt``; ``experiment=lenet`` sets it all the same."""
    from convlab.runner.check.validate import _primary_keys

    cfg = compose_config(["experiment=lenet", "ckpt_path=x.ckpt"], tmp_path, "eval")
    assert "test_ckpt" in cfg and "test_ckpt" not in _primary_keys()
    assert find_problems(cfg) == ["ckpt_path=x.ckpt: no such checkpoint file."]


def _compose_from(conf, overrides):
    """Compose from another config folder as ``@hydra.main`` would (HydraConfig set)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    return cfg


def _unknown_top_level(cfg) -> list[str]:
    return [problem for problem in find_problems(cfg) if "top-level" in problem]


def test_keys_declared_by_the_config_or_a_new_group_need_no_schema(tmp_path, no_hydra_run):
    """A key added to train.yaml, or a group added to conf/, is accepted as it is; a key
    nothing declares is named with the closest valid one."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    with (conf / "train.yaml").open("a") as handle:
        handle.write("notes: first try\n")
    (conf / "extra").mkdir()
    (conf / "extra" / "small.yaml").write_text("size: 1\n")
    assert _unknown_top_level(_compose_from(conf, ["+extra=small"])) == []
    assert _unknown_top_level(_compose_from(conf, ["+notse=x"])) == [
        "notse: no such top-level key. Did you mean notes?"
    ]
    assert _unknown_top_level(_compose_from(conf, ["+zzzzzz=1"])) == [
        "zzzzzz: no such top-level key."
    ]


def test_a_run_composed_with_its_hydra_node_has_no_unknown_key(tmp_path, no_hydra_run):
    """``hydra`` is allowed even where the config chooses no ``hydra`` group of its own."""
    from convlab.runner.check.validate import _primary_keys

    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    train = conf / "train.yaml"
    train.write_text(train.read_text().replace("  - hydra: default\n", ""))
    cfg = _compose_from(conf, [])
    assert "hydra" in cfg and "hydra" not in _primary_keys()
    assert _unknown_top_level(cfg) == []


def test_a_nested_group_is_not_offered_as_a_top_level_key(no_hydra_run):
    """``hydra/launcher`` is a group Hydra chose, but no top-level key can be named so."""
    cfg = _compose_from(CONF_DIR, ["+hydra_launcher=1"])
    assert _unknown_top_level(cfg) == ["hydra_launcher: no such top-level key."]


def test_a_repeated_sweep_job_is_named_by_its_numbers_and_values():
    assert repeated_job([["a=1", "b=2"], ["c=3"], ["+b=2", "a=1"]]) == (
        "jobs 1 and 3 of the sweep are the same run (+b=2 a=1); give each value once."
    )
    assert repeated_job([["c=3"], [], []]) == (
        "jobs 2 and 3 of the sweep are the same run (no overrides); give each value once."
    )
    assert repeated_job([["a=1"], ["a=2"], []]) is None


def _sweep_base(tmp_path, overrides: list[str], task: list[str], sweeper: str | None = None):
    """A sweep's base config as ``on_multirun_start`` gets it (HydraConfig set, as there)."""
    cfg = compose_config(overrides, tmp_path / "run")
    for node in (cfg.hydra, cfg.hydra.overrides, cfg.hydra.sweeper, cfg.hydra.sweep):
        OmegaConf.set_readonly(node, False)
    with open_dict(cfg):
        cfg.hydra.mode = RunMode.MULTIRUN
        cfg.hydra.overrides.task = task
        cfg.hydra.sweep.dir = str(tmp_path / "sweep")
        cfg.hydra.sweeper._target_ = sweeper or cfg.hydra.sweeper._target_
    HydraConfig.instance().set_config(cfg)
    return cfg


def _sweep_problems(cfg) -> list[str]:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        problems = sweep_problems(cfg, "train")
    GlobalHydra.instance().clear()
    return problems


def test_a_sweeps_base_config_is_checked_with_the_extra_checks(tmp_path):
    """Where the jobs cannot be known up front (Optuna), the base config and the folder are all
    there is to check before the sweep starts; the packages' extra checks take part."""
    optuna = "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    base = ["experiment=max_regression", "members=10", "data.batch_size=0"]
    problems = _sweep_problems(_sweep_base(tmp_path, base, ["members=10", "seed=1,2"], optuna))
    assert problems[0] == "data.batch_size=0: must be a positive integer."
    assert len(problems) == 2 and "trains some seeds twice" in problems[1], problems
    assert _sweep_problems(_sweep_base(tmp_path, [], ["seed=1,2"], optuna)) == []


def test_a_bad_base_config_is_said_even_where_every_job_is_good(tmp_path):
    cfg = _sweep_base(tmp_path, ["data.batch_size=0"], ["data.batch_size=8,16"])
    assert _sweep_problems(cfg) == ["data.batch_size=0: must be a positive integer."]
    assert _sweep_problems(_sweep_base(tmp_path, [], ["seed=1,2,1"])) == [
        "jobs 1 and 3 of the sweep are the same run (seed=1); give each value once."
    ]


def test_a_sweep_into_an_unwritable_folder_is_refused(tmp_path):
    cfg = _sweep_base(tmp_path, [], ["seed=1,2"])
    (tmp_path / "file").write_text("")
    with open_dict(cfg):
        cfg.hydra.sweep.dir = str(tmp_path / "file" / "sweep")
    assert _sweep_problems(cfg) == [
        f"hydra.sweep.dir={tmp_path / 'file' / 'sweep'}: cannot write the run's output there "
        f"({tmp_path / 'file'} is a file, not a folder). Choose another place with "
        "paths.log_dir=<folder> or hydra.run.dir/hydra.sweep.dir."
    ]
