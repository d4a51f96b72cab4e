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
from omegaconf import OmegaConf, open_dict

from convlab.runner.check import ConfigError, find_problems, unwritable, validate_config
from convlab.runner.check.composition import explain
from convlab.runner.check.rules import RULES, pair_violations, violation
from convlab.runner.check.signature import accepts, locate
from convlab.runner.check.suggest import MAX_LISTED, closest, listing, unknown_key
from convlab.runner.check.types import mismatch
from convlab.runner.hydra_hooks import ValidateConfig
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
    """``accepts`` and the schema's key list are cached per process: every test reads them itself
    (so each test checks the code it runs, whichever test ran first)."""
    from convlab.runner.check.schema import _keys_of

    accepts.cache_clear()
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


# Every value rule: a value it rejects (with the requirement it names) and the edge it accepts.
RULE_CASES = [
    ("seed", -1, 0, "an integer in [0, 2**32)"),
    ("seed", 2**32, 2**32 - 1, "an integer in [0, 2**32)"),
    ("torch_threads", 0, 1, "a positive integer (or null)"),
    ("data.batch_size", 0, 1, "a positive integer"),
    ("data.eval_batch_size", -1, 1, "a positive integer"),
    ("data.val_size", 0, 1, "a positive integer"),
    ("data.n_train", 0, 1, "a positive integer"),
    ("optimizer.lr", 0.0, 1e-9, "a positive number"),
    ("optimizer.weight_decay", -1e-9, 0.0, "a number >= 0"),
    ("optimizer.momentum", -0.5, 0, "a number >= 0"),
    ("model.width", 0, 1, "a positive integer"),
    ("members", 0, 1, "a positive integer"),
    ("model.depth", -1, 0, "an integer >= 0"),
    ("trainer.max_epochs", 0, -1, "a positive integer, or -1 for no limit"),
    ("trainer.max_epochs", -2, 1, "a positive integer, or -1 for no limit"),
    ("trainer.max_steps", -2, -1, "a positive integer, or -1 for no limit"),
    ("trainer.min_epochs", -1, 0, "an integer >= 0"),
    ("trainer.devices", 0, -1, "a positive integer, -1, 'auto' or a list"),
    ("trainer.devices", -2, 1, "a positive integer, -1, 'auto' or a list"),
    ("trainer.accumulate_grad_batches", 0, 1, "a positive integer"),
    ("trainer.log_every_n_steps", 0, 1, "a positive integer"),
    ("trainer.check_val_every_n_epoch", 0, 1, "a positive integer (or null)"),
    ("trainer.gradient_clip_val", -0.1, 0.0, "a number >= 0 (or null)"),
    ("callbacks.early_stopping.patience", -1, 0, "an integer >= 0"),
    ("callbacks.model_checkpoint.every_n_train_steps", -1, 0, "an integer >= 0 (or null)"),
    ("callbacks.model_checkpoint.last_every_n_steps", 0, 1, "a positive integer (or null)"),
]


@pytest.mark.parametrize(("path", "bad", "good", "requirement"), RULE_CASES)
def test_each_value_rule(path, bad, good, requirement):
    assert violation(path, bad) == requirement
    assert violation(path, good) is None


def test_every_rule_has_a_case():
    assert {rule.pattern for rule in RULES} == {
        next((rule.pattern for rule in RULES if rule.matches(path)), None)
        for path, *_ in RULE_CASES
    }


@pytest.mark.parametrize("value", ["abc", None, True, [0]])
def test_rules_leave_other_types_to_the_annotation_check(value):
    assert violation("data.batch_size", value) is None


def test_keys_without_a_rule_take_any_number():
    assert violation("model.num_classes", -5) is None
    assert violation("data.batch_size.extra", 0) is None  # globs match whole paths only


@pytest.mark.parametrize(
    ("node", "values", "expected"),
    [
        ("data", {"low": 5, "high": 1}, ["data.low must be below data.high (got low=5, high=1)."]),
        ("data", {"low": 1, "high": 1}, ["data.low must be below data.high (got low=1, high=1)."]),
        ("data", {"low": 0, "high": 1}, []),
        ("data", {"low": 0, "high": "${oops}"}, []),  # not numbers: left to other checks
        ("trainer", {"min_epochs": 3, "max_epochs": 2}, ["trainer.min_epochs must not exceed "
         "trainer.max_epochs (got min_epochs=3, max_epochs=2)."]),
        ("trainer", {"min_epochs": 2, "max_epochs": 2}, []),
        ("trainer", {"min_epochs": 5, "max_epochs": -1}, []),  # -1: no limit
        ("model", {"low": 5, "high": 1}, []),  # the rule is data's, not any node's
    ],
)  # fmt: skip
def test_pair_rules(node, values, expected):
    assert pair_violations(node, values) == expected


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


def _sweep_config(tmp_path, task_overrides: list[str], params: dict | None = None):
    cfg = compose_config([], tmp_path / "run")
    for node in (cfg, cfg.hydra, cfg.hydra.overrides, cfg.hydra.sweeper, cfg.hydra.sweep):
        OmegaConf.set_readonly(node, False)
    with open_dict(cfg):
        cfg.hydra.overrides.task = task_overrides
        cfg.hydra.sweeper.params = params
        cfg.hydra.sweep.dir = str(tmp_path / "sweep")
    return cfg


def test_callback_refuses_a_bad_run_before_any_folder(tmp_path, capsys):
    cfg = compose_config(["data.batch_size=0"], tmp_path / "run")
    with pytest.raises(SystemExit) as raised:
        ValidateConfig().on_run_start(cfg)
    assert raised.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: data.batch_size=0: must be a positive integer."
    ]
    assert not (tmp_path / "run").exists()
    ValidateConfig().on_run_start(compose_config([], tmp_path / "run"))  # a good one passes


def test_callback_refuses_an_unwritable_run_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit):
        ValidateConfig().on_run_start(compose_config([], tmp_path / "file" / "run"))
    assert capsys.readouterr().err.startswith(
        f"error: hydra.run.dir={tmp_path / 'file' / 'run'}: cannot write the run's output there "
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


def _annotated(a: typing.Annotated[int, "unit"], b: OmegaConf) -> None: ...


def _unresolvable(a: int, b: OmegaConf, c: NoSuchName) -> None: ...  # noqa: F821


def test_hints_keep_extras_and_follow_wrappers():
    from convlab.runner.check.signature import _hints

    hints = _hints(_annotated)
    assert hints == {"a": typing.Annotated[int, "unit"], "b": OmegaConf, "return": type(None)}

    def wrapper(*args, **kwargs): ...

    wrapper.__wrapped__ = _annotated
    assert _hints(wrapper)["a"] == typing.Annotated[int, "unit"]


def test_hints_that_cannot_be_resolved_are_left_out():
    """``b`` resolves in the function's own module only; ``c`` nowhere."""
    from convlab.runner.check.signature import _hints

    assert _hints(_unresolvable) == {"a": int, "b": OmegaConf, "return": None}


def test_overrides_without_a_key_and_sweeps_at_their_first_value():
    from convlab.runner.check.composition import _without

    overrides = ["a.b=1", "seed=3,4,5", "x=1", "c=[1,2]", "a.b=2", "lr=range(1,3)", "d=2"]
    assert _without(overrides, "a.b") == ["seed=3", "x=1", "c=[1,2]", "lr=1", "d=2"]


def test_unknown_keys_are_named_with_what_the_target_accepts():
    from convlab.runner.check.composition import _unknown_key

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
    for target in ("nosuchpkg_zz.Thing", "tests.faults_nope.X"):
        with pytest.raises(ImportError) as error:
            locate(target)
        module = target.rpartition(".")[0]
        assert str(error.value) == f"ModuleNotFoundError: No module named '{module}'"


def test_unwritable_asks_for_write_and_search_permission(tmp_path, monkeypatch):
    from convlab.runner.check import jobs

    asked = []
    monkeypatch.setattr(jobs.os, "access", lambda path, mode: asked.append((path, mode)) or False)
    assert unwritable(tmp_path / "new" / "run") == f"{tmp_path} is not writable"
    assert asked == [(tmp_path, os.W_OK | os.X_OK)]


def test_each_sweep_job_is_checked_and_each_problem_said_once():
    from convlab.runner.check.jobs import check_jobs

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        problems = check_jobs("train", [["trainer.max_epoch=3"], ["trainer.max_epoch=3"],
                                        ["experiment=lenett"]])  # fmt: skip
    GlobalHydra.instance().clear()
    assert len(problems) == 2
    assert problems[0].startswith("trainer.max_epoch: no such key for Trainer. Did you mean")
    assert problems[1].startswith("experiment=lenett: no such experiment config.")
