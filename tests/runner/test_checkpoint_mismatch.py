"""eval.py's check that a checkpoint belongs to the config it is evaluated with."""

from __future__ import annotations

from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from convlab.runner.check.checkpoint import checkpoint_mismatch, run_folder
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
