"""eval.py's check that a checkpoint belongs to the config it is evaluated with."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from convlab.runner.resume import checkpoint_mismatch, run_folder
from tests.conftest import compose_config, run_script


def _fake_run(folder: Path, overrides: list[str], keep_folder: bool = True) -> Path:
    """A run folder as train.py leaves it (.hydra/ + checkpoints/last.ckpt), without training:
    the checkpoint holds the freshly built network's weights."""
    cfg = compose_config(overrides, folder)
    ckpt = folder / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    state = {f"net.{k}": v for k, v in instantiate(cfg.model).state_dict().items()}
    torch.save({"state_dict": state, "hyper_parameters": {}}, ckpt)
    if keep_folder:
        hydra_dir = folder / ".hydra"
        hydra_dir.mkdir()
        task_cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
        OmegaConf.save(task_cfg, hydra_dir / "config.yaml")
        OmegaConf.save(OmegaConf.create({"hydra": cfg.hydra}), hydra_dir / "hydra.yaml")
        OmegaConf.save(OmegaConf.create(overrides), hydra_dir / "overrides.yaml")
    return ckpt


def _given(tmp_path: Path, overrides: list[str], ckpt: Path):
    return compose_config([*overrides, f"ckpt_path={ckpt}"], tmp_path / "eval", "eval")


def test_checkpoint_of_another_experiment_names_both(tmp_path):
    ckpt = _fake_run(tmp_path / "run", ["experiment=max_regression"])
    message = checkpoint_mismatch(_given(tmp_path, ["experiment=lenet"], ckpt), ckpt)
    assert message == (
        f"ckpt_path={ckpt} is from experiment=max_regression (model MLP, task RegressionTask), "
        "not experiment=lenet (model LeNet, task ClassificationTask) as given. Evaluate it with: "
        f"python eval.py experiment=max_regression ckpt_path={ckpt}"
    )
    assert "\n" not in message


def test_same_class_other_arguments_is_a_mismatch_too(tmp_path):
    """A sigmoid LeNet's weights load into a ReLU LeNet without a word: refuse that too."""
    ckpt = _fake_run(tmp_path / "run", ["experiment=lenet", "model.pooling=max"])
    message = checkpoint_mismatch(_given(tmp_path, ["experiment=lenet_modern"], ckpt), ckpt)
    assert message.startswith(
        f"ckpt_path={ckpt} was trained with model.activation=sigmoid; the config given has "
        "model.activation=relu"
    ), message
    assert message.endswith(
        f"Evaluate it with: python eval.py experiment=lenet model.pooling=max ckpt_path={ckpt}"
    )


def test_the_matching_config_passes(tmp_path):
    ckpt = _fake_run(tmp_path / "run", ["experiment=lenet", "model.pooling=max"])
    given = _given(tmp_path, ["experiment=lenet", "model.pooling=max", "data.batch_size=64"], ckpt)
    assert checkpoint_mismatch(given, ckpt) is None


def test_a_checkpoint_without_its_run_folder_is_compared_by_its_weights(tmp_path):
    ckpt = _fake_run(tmp_path / "run", ["experiment=max_regression"], keep_folder=False)
    assert run_folder(ckpt) is None
    message = checkpoint_mismatch(_given(tmp_path, ["experiment=lenet"], ckpt), ckpt)
    assert message.startswith(
        f"ckpt_path={ckpt}: its weights do not fit the model given "
        "(experiment=lenet (model LeNet, task ClassificationTask); "
    )
    assert "in the checkpoint" in message and "No run folder (.hydra/)" in message
    same = _fake_run(tmp_path / "run2", ["experiment=lenet"], keep_folder=False)
    assert checkpoint_mismatch(_given(tmp_path, ["experiment=lenet"], same), same) is None


def test_a_missing_file_is_left_to_the_path_check(tmp_path):
    cfg = _given(tmp_path, ["experiment=lenet"], tmp_path / "missing.ckpt")
    assert checkpoint_mismatch(cfg, tmp_path / "missing.ckpt") is None


def test_eval_py_with_another_experiments_checkpoint_is_one_line(tmp_path):
    run_dir, eval_dir = tmp_path / "run", tmp_path / "eval"
    trained = run_script([
        "experiment=max_regression", "trainer.max_epochs=1", "data.n_train=100", "logger=none",
        f"hydra.run.dir={run_dir}",
    ])  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    result = run_script(
        ["experiment=lenet", f"ckpt_path={run_dir}/checkpoints/last.ckpt",
         f"hydra.run.dir={eval_dir}"],
        script="eval.py",
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "is from experiment=max_regression" in line and "not experiment=lenet" in line
    assert "Traceback" not in result.stderr


# --- the same checks on hand-written run folders (no composition: fast) --------------------
MLP_TARGET = "convlab.models.mlp.MLP"
REGRESSION = "convlab.tasks.regression.RegressionTask"


@pytest.fixture(autouse=True)
def _no_hydra_run():
    """The given experiment is the config's (or Hydra's, inside a run): none here."""
    from hydra.core.hydra_config import HydraConfig

    saved, HydraConfig.instance().cfg = HydraConfig.instance().cfg, None
    yield
    HydraConfig.instance().cfg = saved


def _cfg(model: dict, task: str = REGRESSION, experiment: str | None = None, **extra):
    cfg = {"model": {"_target_": MLP_TARGET, **model}, "task": {"_target_": task}, **extra}
    if experiment is not None:
        cfg["hydra"] = {"runtime": {"choices": {"experiment": experiment}}}
    return OmegaConf.create(cfg)


def _hand_run(folder: Path, saved, overrides=None, hydra_yaml: str | None = None) -> Path:
    """``folder/.hydra/`` with ``saved`` as config.yaml; an empty ``checkpoints/last.ckpt``."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text(
        saved if isinstance(saved, str) else OmegaConf.to_yaml(saved)
    )
    if overrides is not None:
        (folder / ".hydra" / "overrides.yaml").write_text(
            overrides if isinstance(overrides, str) else OmegaConf.to_yaml(overrides)
        )
    if hydra_yaml is not None:
        (folder / ".hydra" / "hydra.yaml").write_text(hydra_yaml)
    ckpt = folder / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"")
    return ckpt


def test_the_run_folder_is_one_of_the_three_nearest_parents_with_a_config(tmp_path):
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    assert run_folder(run / "x.ckpt") is None  # .hydra/ without config.yaml
    (run / ".hydra" / "config.yaml").mkdir()
    assert run_folder(run / "x.ckpt") is None  # not a file
    (run / ".hydra" / "config.yaml").rmdir()
    (run / ".hydra" / "config.yaml").write_text("{}")
    for depth in range(1, 5):
        ckpt = run.joinpath(*["d"] * (depth - 1), "x.ckpt")
        assert run_folder(ckpt) == (run if depth <= 3 else None), depth
    assert run_folder(str(run / "x.ckpt")) == run


def test_argument_differences_list_three_values_then_a_count(tmp_path):
    saved = _cfg({"width": 8, "depth": 1, "activation": "relu", "bias": True, "extra": 1})
    given = _cfg({"width": 16, "depth": 2, "activation": "tanh", "bias": False})
    overrides = [
        "experiment=max_regression",
        "model.width=8",
        "data.n_train=10",
        "seed=3",
        "trainer.max_epochs=1",
        "task=regression",
        "data=pairs",
        "model=mlp",
    ]
    ckpt = _hand_run(tmp_path / "run", saved, overrides)
    # Sorted: activation, bias, depth, extra, width (the target first, equal here).
    assert checkpoint_mismatch(given, ckpt) == (
        f"ckpt_path={ckpt} was trained with model.activation=relu, model.bias=True, "
        "model.depth=1 (+2 more); the config given has model.activation=tanh, model.bias=False, "
        "model.depth=2 (+2 more), so its weights would be scored in another network. "
        "Evaluate it with: python eval.py experiment=max_regression model.width=8 "
        f"data.n_train=10 task=regression data=pairs model=mlp ckpt_path={ckpt}"
    )


def test_three_differences_are_all_shown_and_a_key_on_one_side_counts(tmp_path):
    saved = _cfg({"width": 8, "depth": 1, "extra": {"a": [1, 2]}})
    given = _cfg({"width": 16, "depth": 2})
    ckpt = _hand_run(tmp_path / "run", saved)
    assert checkpoint_mismatch(given, ckpt) == (
        f"ckpt_path={ckpt} was trained with model.depth=1, model.extra={{'a': [1, 2]}}, "
        "model.width=8; the config given has model.depth=2, model.extra=None, model.width=16, "
        "so its weights would be scored in another network."
    )


def test_without_overrides_the_fix_names_the_checkpoints_experiment(tmp_path):
    hydra_yaml = "hydra:\n  runtime:\n    choices:\n      experiment: max_regression\n"
    saved = _cfg({"width": 8}, task="convlab.tasks.other.OtherTask")
    ckpt = _hand_run(tmp_path / "run", saved, overrides=[], hydra_yaml=hydra_yaml)
    given = _cfg({"width": 8}, experiment="lenet")
    assert checkpoint_mismatch(given, ckpt) == (
        f"ckpt_path={ckpt} is from experiment=max_regression (model MLP, task OtherTask), not "
        "experiment=lenet (model MLP, task RegressionTask) as given. Evaluate it with: "
        f"python eval.py experiment=max_regression ckpt_path={ckpt}"
    )


@pytest.mark.parametrize(
    "hydra_yaml",
    [
        None,  # no hydra.yaml
        "hydra: [unclosed\n",  # unreadable
        "hydra:\n  runtime:\n    choices:\n      experiment: null\n",
        "hydra:\n  runtime:\n    choices: [1, 2]\n",  # choices without get()
        "hydra:\n  runtime: {}\n",
    ],
)
def test_a_run_with_no_readable_experiment_is_described_by_its_classes(tmp_path, hydra_yaml):
    saved = OmegaConf.create({"model": {"_target_": MLP_TARGET}, "task": {"width": 1}})
    ckpt = _hand_run(tmp_path / "run", saved, overrides="[unclosed\n", hydra_yaml=hydra_yaml)
    given = OmegaConf.create({"model": {"_target_": "LeNet"}, "task": {"_target_": ""}})
    assert checkpoint_mismatch(given, ckpt) == (
        f"ckpt_path={ckpt} is from no experiment (model MLP, task ?), not no experiment "
        "(model LeNet, task ?) as given."
    )


def test_values_are_compared_resolved_or_as_written(tmp_path):
    saved = {
        "model": {
            "_target_": MLP_TARGET,
            "width": "${size}",
            "depth": "${missing}",
            "layers": {"n": "${size}"},
            "odd": {"n": "${missing}"},
        },
        "size": 8,
    }
    ckpt = _hand_run(tmp_path / "run", OmegaConf.create(saved))
    same = OmegaConf.create({**saved, "task": None})
    assert checkpoint_mismatch(same, ckpt) is None
    resolved = OmegaConf.create({"model": {"_target_": MLP_TARGET, "width": 8,
                                           "depth": "${missing}", "layers": {"n": 8},
                                           "odd": {"n": "${missing}"}}})  # fmt: skip
    assert checkpoint_mismatch(resolved, ckpt) is None
    other = OmegaConf.create({**saved, "size": 9})
    assert "model.layers={'n': 8}" in checkpoint_mismatch(other, ckpt)
    assert "model.width=9" in checkpoint_mismatch(other, ckpt)


def test_an_unreadable_run_config_leaves_the_checkpoint_alone(tmp_path):
    ckpt = _hand_run(tmp_path / "run", "model: [unclosed\n")
    assert checkpoint_mismatch(_cfg({"width": 8}), ckpt) is None


def _weights_only(path: Path, state: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def test_weights_are_compared_by_the_nets_names_and_shapes(tmp_path):
    from convlab.models.mlp import MLP

    net = {f"net.{k}": v for k, v in MLP(width=8, depth=1).state_dict().items()}
    cfg = _cfg({"width": 8, "depth": 1}, experiment="max_regression")
    ckpt = _weights_only(
        tmp_path / "a.ckpt", {"state_dict": {**net, "train_loss.x": torch.ones(3)}}
    )
    assert checkpoint_mismatch(cfg, ckpt) is None  # only net.* counts
    wider = _cfg({"width": 9, "depth": 1}, experiment="max_regression")
    assert checkpoint_mismatch(wider, ckpt) == (
        f"ckpt_path={ckpt}: its weights do not fit the model given (experiment=max_regression "
        "(model MLP, task RegressionTask); layers.0.bias: (8,) in the checkpoint, (9,) in MLP). "
        "No run folder (.hydra/) beside it says which experiment it is from: pass the "
        "experiment and model it was trained with."
    )
    deeper = _cfg({"width": 8, "depth": 2})
    message = checkpoint_mismatch(deeper, ckpt)
    assert "(no experiment (model MLP, task RegressionTask); layers.4.bias: absent in the " in (
        message
    )
    assert "checkpoint, (1,) in MLP)" in message
    extra = _weights_only(tmp_path / "b.ckpt", {"state_dict": {**net, "net.z": torch.ones(1)}})
    assert "z: (1,) in the checkpoint, absent in MLP)" in checkpoint_mismatch(cfg, extra)


@pytest.mark.parametrize("case", ["no state_dict", "no net weights", "garbage", "bad model"])
def test_weights_that_cannot_be_compared_are_left_to_the_other_checks(tmp_path, case):
    path = tmp_path / "x.ckpt"
    cfg = _cfg({"width": 8})
    if case == "garbage":
        path.write_bytes(b"not a checkpoint")
    else:
        state = {} if case == "no state_dict" else {"state_dict": {"w": torch.ones(1)}}
        _weights_only(path, state)
    if case == "bad model":
        _weights_only(path, {"state_dict": {"net.w": torch.ones(1)}})
        cfg = _cfg({"no_such_argument": 1})
    assert checkpoint_mismatch(cfg, path) is None


def test_inside_a_hydra_run_the_given_experiment_is_hydras_unless_the_config_says(tmp_path):
    from hydra.core.hydra_config import HydraConfig

    choices = {"hydra": {"runtime": {"choices": {"experiment": "lenet"}}}}
    HydraConfig.instance().cfg = OmegaConf.create(choices)
    ckpt = _hand_run(tmp_path / "run", _cfg({"width": 8}, task="x.Other"))
    message = checkpoint_mismatch(_cfg({"width": 8}), ckpt)
    assert message.endswith("not experiment=lenet (model MLP, task RegressionTask) as given.")
    message = checkpoint_mismatch(_cfg({"width": 8}, experiment="mine"), ckpt)
    assert message.endswith("not experiment=mine (model MLP, task RegressionTask) as given.")


def test_edge_cases_of_the_comparison(tmp_path):
    # Another model class alone (same arguments, same task) is another network.
    ckpt = _hand_run(tmp_path / "a", _cfg({"width": 8}))
    given = OmegaConf.create({"model": {"_target_": "x.LeNet", "width": 8},
                              "task": {"_target_": REGRESSION}})  # fmt: skip
    assert checkpoint_mismatch(given, ckpt).startswith(
        f"ckpt_path={ckpt} is from no experiment (model MLP, task RegressionTask), not"
    )
    # A run without a model section: only the task is compared.
    bare = _hand_run(tmp_path / "b", OmegaConf.create({"task": {"_target_": REGRESSION}}))
    assert checkpoint_mismatch(_cfg({"width": 8}), bare) is None
    # Four differences: three shown, "+1 more".
    four = _hand_run(tmp_path / "c", _cfg({"a": 1, "b": 1, "c": 1, "d": 1}))
    message = checkpoint_mismatch(_cfg({"a": 2, "b": 2, "c": 2, "d": 2}), four)
    assert "model.a=1, model.b=1, model.c=1 (+1 more); the config given has model.a=2" in message
    # Unresolvable values are compared as written.
    odd = _hand_run(tmp_path / "d", _cfg({"depth": "${missing}"}))
    message = checkpoint_mismatch(_cfg({"depth": "${other}"}), odd)
    assert "trained with model.depth=${missing}; the config given has model.depth=${other}" in (
        message
    )
    # Choices that cannot be resolved name no experiment (and raise nothing).
    broken = _cfg({"width": 9})
    broken.hydra = {"runtime": {"choices": "${nowhere}"}}
    assert checkpoint_mismatch(broken, ckpt).startswith(f"ckpt_path={ckpt} was trained with")
