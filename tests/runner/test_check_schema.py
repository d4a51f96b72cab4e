"""The top-level keys of a run (convlab.runner.check.schema): their types, the keys a config
declares itself, and the checkpoint named by ``ckpt_path``."""

from __future__ import annotations

import shutil
import zipfile

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from convlab.runner.check.schema import _keys_of, _primary_keys, check_top_level
from tests.conftest import CONF_DIR, compose_config


@pytest.fixture(autouse=True)
def _no_hydra_run():
    """Each test starts outside a Hydra run (another test may have left one set up)."""
    _keys_of.cache_clear()
    HydraConfig.instance().cfg = None
    yield
    HydraConfig.instance().cfg = None
    GlobalHydra.instance().clear()


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
def test_top_level_values(values, problems):
    assert check_top_level(OmegaConf.create(values)) == problems


def test_the_checkpoint_file_is_opened(tmp_path):
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"not a zip")
    assert check_top_level(OmegaConf.create({"ckpt_path": str(broken)})) == [
        f"ckpt_path={broken}: not a readable checkpoint (File is not a zip file); it may have "
        "been cut off while being written."
    ]
    readable = tmp_path / "readable.ckpt"
    with zipfile.ZipFile(readable, "w") as archive:
        archive.writestr("archive/data.pkl", b"")
    assert check_top_level(OmegaConf.create({"ckpt_path": str(readable)})) == []


def test_keys_of_the_primary_config_file(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (second / "train.yaml").write_text("defaults:\n  - _self_\nseed: 1\nnotes: x\n")
    assert _keys_of((str(first), str(second)), "train") == {"seed", "notes"}
    assert _keys_of((str(first),), "train") == set()
    assert _keys_of((str(second),), None) == set()
    assert _keys_of((str(second),), "eval") == set()


def test_each_entry_point_declares_its_own_keys(tmp_path):
    assert _primary_keys() == set()
    compose_config([], tmp_path, "train")
    train = _primary_keys()
    assert {"seed", "members", "monitor", "test_ckpt"} <= train
    assert not {"defaults", "hydra"} & train
    _keys_of.cache_clear()
    compose_config(["ckpt_path=x.ckpt"], tmp_path, "eval")
    evaluate = _primary_keys()
    assert {"seed", "ckpt_path", "hydra"} <= evaluate and "members" not in evaluate


def test_an_experiment_may_set_a_run_key_that_the_entry_point_does_not_declare(tmp_path):
    """eval.yaml does not declare ``test_ckpt``; ``experiment=lenet`` sets it all the same."""
    cfg = compose_config(["experiment=lenet", "ckpt_path=x.ckpt"], tmp_path, "eval")
    assert "test_ckpt" in cfg and "test_ckpt" not in _primary_keys()
    assert check_top_level(cfg) == ["ckpt_path=x.ckpt: no such checkpoint file."]


def _compose_from(conf, overrides):
    """Compose from another config folder as ``@hydra.main`` would (HydraConfig set)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    return cfg


def test_keys_declared_by_the_config_or_a_new_group_need_no_schema(tmp_path):
    """A key added to train.yaml, or a group added to conf/, is accepted as it is; a key
    nothing declares is named with the closest valid one."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    with (conf / "train.yaml").open("a") as handle:
        handle.write("notes: first try\n")
    (conf / "extra").mkdir()
    (conf / "extra" / "small.yaml").write_text("size: 1\n")
    assert check_top_level(_compose_from(conf, ["+extra=small"])) == []
    assert check_top_level(_compose_from(conf, ["+notse=x"])) == [
        "notse: no such top-level key. Did you mean notes?"
    ]
    assert check_top_level(_compose_from(conf, ["+zzzzzz=1"])) == ["zzzzzz: no such top-level key."]


def test_a_run_composed_with_its_hydra_node_has_no_unknown_key(tmp_path):
    """``hydra`` is allowed even where the config chooses no ``hydra`` group of its own."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    train = conf / "train.yaml"
    train.write_text(train.read_text().replace("  - hydra: default\n", ""))
    cfg = _compose_from(conf, [])
    assert "hydra" in cfg and "hydra" not in _primary_keys()
    assert check_top_level(cfg) == []


def test_a_nested_group_is_not_offered_as_a_top_level_key():
    """``hydra/launcher`` is a group Hydra chose, but no top-level key can be named so."""
    cfg = _compose_from(CONF_DIR, ["+hydra_launcher=1"])
    assert check_top_level(cfg) == ["hydra_launcher: no such top-level key."]
