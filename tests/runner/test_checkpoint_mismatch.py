"""eval.py's check that a checkpoint belongs to the config it is evaluated with."""

import logging
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from convlab.errors import ConvlabError
from convlab.runner.resume import (
    checked_ckpt_path,
    checkpoint_mismatch,
    checkpoint_problem,
    run_folder,
)
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


def test_checkpoint_of_another_experiment_names_the_difference_and_the_fix(tmp_path):
    ckpt = _fake_run(tmp_path / "run", ["experiment=max_regression"])
    message = checkpoint_mismatch(_given(tmp_path, ["experiment=lenet"], ckpt), ckpt)
    assert message.startswith(
        f"ckpt_path={ckpt} was trained with another network (model._target_: "
        "'convlab.models.mlp.MLP' -> 'convlab.models.lenet.LeNet'; "
    ), message
    assert message.endswith(
        f"more)). Evaluate it with: python eval.py experiment=max_regression ckpt_path={ckpt}"
    ), message
    assert "\n" not in message


def test_same_class_other_arguments_is_a_mismatch_too(tmp_path):
    """A sigmoid LeNet's weights load into a ReLU LeNet without a word: refuse that too."""
    ckpt = _fake_run(tmp_path / "run", ["experiment=lenet", "model.pooling=max"])
    message = checkpoint_mismatch(_given(tmp_path, ["experiment=lenet_modern"], ckpt), ckpt)
    assert message.startswith(
        f"ckpt_path={ckpt} was trained with another network (model.activation: 'sigmoid' -> 'relu'"
    ), message
    assert message.endswith(
        f"Evaluate it with: python eval.py experiment=lenet model.pooling=max ckpt_path={ckpt}"
    )


def test_the_matching_config_passes(tmp_path):
    ckpt = _fake_run(tmp_path / "run", ["experiment=lenet", "model.pooling=max"])
    given = _given(tmp_path, ["experiment=lenet", "model.pooling=max", "data.batch_size=64"], ckpt)
    assert checkpoint_mismatch(given, ckpt) is None


def test_eval_asks_for_a_checkpoint_of_this_network(tmp_path, caplog):
    """The one check of a ``ckpt_path`` (``checkpoint_problem``): to evaluate, a file of this
    model and task; to train, no file is needed and another network is resume's business."""
    assert checkpoint_problem(OmegaConf.create({"ckpt_path": None}), evaluating=True) == (
        "eval.py needs ckpt_path=<path to a .ckpt file>"
    )
    assert checkpoint_problem(OmegaConf.create({"ckpt_path": None})) is None
    ckpt = _fake_run(tmp_path / "run", ["experiment=max_regression"])
    other = _given(tmp_path, ["experiment=lenet"], ckpt)
    said = checkpoint_problem(other, evaluating=True)
    assert said == checkpoint_mismatch(other, ckpt) and said.startswith(f"ckpt_path={ckpt} was")
    assert checkpoint_problem(other) is None  # eval.yaml has no resume: not a continued run
    with pytest.raises(ConvlabError, match="was trained with another network"):
        checked_ckpt_path(other, evaluating=True)
    same = _given(tmp_path, ["experiment=max_regression"], ckpt)
    with caplog.at_level(logging.INFO, logger="convlab"):
        assert checked_ckpt_path(same, evaluating=True) == str(ckpt)
    assert caplog.messages == [f"evaluating from {ckpt}"]


def test_a_checkpoint_without_its_run_folder_is_left_to_its_weights(tmp_path):
    ckpt = _fake_run(tmp_path / "run", ["experiment=max_regression"], keep_folder=False)
    assert run_folder(ckpt) is None
    assert checkpoint_mismatch(_given(tmp_path, ["experiment=lenet"], ckpt), ckpt) is None


def test_a_missing_file_is_left_to_the_path_check(tmp_path):
    cfg = _given(tmp_path, ["experiment=lenet"], tmp_path / "missing.ckpt")
    assert checkpoint_mismatch(cfg, tmp_path / "missing.ckpt") is None


def test_eval_py_with_another_network_is_one_line_by_config_or_by_weights(tmp_path):
    run_dir, eval_dir = tmp_path / "run", tmp_path / "eval"
    trained = run_script([
        "experiment=max_regression", "trainer.max_epochs=1", "data.n_train=100", "logger=none",
        f"hydra.run.dir={run_dir}",
    ])  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    loose = tmp_path / "loose.ckpt"  # no run folder beside it
    loose.write_bytes((run_dir / "checkpoints" / "last.ckpt").read_bytes())
    for given, ckpt, said in (
        ("experiment=lenet", run_dir / "checkpoints" / "last.ckpt", "was trained with another "
         "network (model._target_: 'convlab.models.mlp.MLP' -> 'convlab.models.lenet.LeNet'"),
        ("experiment=max_regression model.width=9 data.n_test=50", loose,
         "its weights do not fit the model given (size mismatch for net."),
    ):  # fmt: skip
        result = run_script(
            [*given.split(), f"ckpt_path={ckpt}", f"hydra.run.dir={eval_dir / ckpt.name}"],
            script="eval.py",
        )
        assert result.returncode == 2, result.stderr[-2000:]
        (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert said in line, line
        assert "Traceback" not in result.stderr


# --- the same checks on hand-written run folders (no composition: fast) --------------------
MLP_TARGET = "convlab.models.mlp.MLP"
REGRESSION = "convlab.tasks.regression.RegressionTask"


def _cfg(model: dict, task: str = REGRESSION, **extra):
    return OmegaConf.create({"model": {"_target_": MLP_TARGET, **model}, "task": {"_target_": task},
                             **extra})  # fmt: skip


def _hand_run(folder: Path, saved, overrides=None) -> Path:
    """``folder/.hydra/`` with ``saved`` as config.yaml; an empty ``checkpoints/last.ckpt``."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text(
        saved if isinstance(saved, str) else OmegaConf.to_yaml(saved)
    )
    if overrides is not None:
        (folder / ".hydra" / "overrides.yaml").write_text(
            overrides if isinstance(overrides, str) else OmegaConf.to_yaml(overrides)
        )
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


def test_differences_list_three_then_a_count_and_the_fix_keeps_what_was_trained(tmp_path):
    saved = _cfg({"width": 8, "depth": 1, "activation": "relu", "bias": True, "extra": 1})
    given = _cfg({"width": 16, "depth": 2, "activation": "tanh", "bias": False}, seed=1)
    overrides = ["experiment=max_regression", "model.width=8", "data.n_train=10", "seed=3",
                 "trainer.max_epochs=1", "task=regression", "data=pairs", "model=mlp"]  # fmt: skip
    ckpt = _hand_run(tmp_path / "run", saved, overrides)
    assert checkpoint_mismatch(given, ckpt) == (
        f"ckpt_path={ckpt} was trained with another network (model.activation: 'relu' -> "
        "'tanh'; model.bias: True -> False; model.depth: 1 -> 2 (+2 more)). Evaluate it with: "
        "python eval.py experiment=max_regression model.width=8 data.n_train=10 task=regression "
        f"data=pairs model=mlp ckpt_path={ckpt}"
    )


def test_three_differences_are_all_shown_and_a_key_on_one_side_counts(tmp_path):
    saved = _cfg({"width": 8, "depth": 1, "extra": {"a": [1, 2]}})
    ckpt = _hand_run(tmp_path / "run", saved, overrides="[unclosed\n")
    assert checkpoint_mismatch(_cfg({"width": 16, "depth": 2}), ckpt) == (
        f"ckpt_path={ckpt} was trained with another network (model.depth: 1 -> 2; "
        "model.extra.a: [1, 2] -> None; model.width: 8 -> 16)."
    )


def test_the_task_class_counts_its_arguments_do_not(tmp_path):
    ckpt = _hand_run(tmp_path / "run", _cfg({"width": 8}, task="convlab.tasks.other.OtherTask"))
    message = checkpoint_mismatch(_cfg({"width": 8}), ckpt)
    assert message == (
        f"ckpt_path={ckpt} was trained with another network (task._target_: "
        f"'convlab.tasks.other.OtherTask' -> '{REGRESSION}')."
    )
    same_task = _cfg({"width": 8}, task="convlab.tasks.other.OtherTask")
    same_task.task.lr = 3
    assert checkpoint_mismatch(same_task, ckpt) is None


def test_values_are_compared_as_written_so_a_change_shows_at_its_source(tmp_path):
    saved = {"model": {"_target_": MLP_TARGET, "width": "${size}", "odd": "${missing}"}, "size": 8}
    ckpt = _hand_run(tmp_path / "run", OmegaConf.create(saved))
    assert checkpoint_mismatch(OmegaConf.create({**saved, "task": None}), ckpt) is None
    assert checkpoint_mismatch(OmegaConf.create({**saved, "size": 9}), ckpt) is None  # not model
    literal = OmegaConf.create({**saved, "model": {**saved["model"], "width": 8}})
    assert "(model.width: '${size}' -> 8)" in checkpoint_mismatch(literal, ckpt)


def test_an_unreadable_run_config_leaves_the_checkpoint_alone(tmp_path):
    ckpt = _hand_run(tmp_path / "run", "model: [unclosed\n")
    assert checkpoint_mismatch(_cfg({"width": 8}), ckpt) is None
