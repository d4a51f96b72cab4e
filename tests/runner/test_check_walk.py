"""Walking a config (convlab.runner.check.walk): every node with a ``_target_`` against the
signature it names, named groups, lists; every problem listed, whatever came before it."""

from __future__ import annotations

import pytest
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from convlab.runner.check import find_problems

LINEAR = "torch.nn.Linear"
ALLOWED = "Allowed: bias, device, dtype, in_features, out_features."
HINT = "Did you mean model.in_features?"


def scaled(size, scale: float = 1.0):
    """A target with an unannotated parameter: any value may be passed as ``size``."""
    return [size * scale]


@pytest.fixture(autouse=True)
def _no_hydra_run():
    """Outside a Hydra run the top-level keys are not compared with train.yaml's."""
    HydraConfig.instance().cfg = None


def problems_of(model: dict) -> list[str]:
    return find_problems(OmegaConf.create({"model": model}))


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
    ],
)  # fmt: skip
def test_a_target_node_against_its_signature(model, problems):
    assert problems_of(model) == problems


def test_lists_are_walked_with_each_items_index():
    model = {"stages": [1, {"_target_": LINEAR, "in_features": "y", "out_features": 1}]}
    assert problems_of(model) == [
        "model.stages[1].in_features=y: expected an integer (Linear.in_features)."
    ]


def test_each_entry_of_a_named_group_builds_an_object_or_is_switched_off():
    cfg = OmegaConf.create(
        {"callbacks": {"off": None, "bad": 3, "plain": {"a": 1}, "ok": {"_target_": LINEAR,
                                                                          "in_features": 1,
                                                                          "out_features": 1}}}
    )  # fmt: skip
    entry = "an entry needs a _target_ (the class it builds), or null to switch it off."
    assert find_problems(cfg) == [f"callbacks.bad: {entry}", f"callbacks.plain: {entry}"]


def test_value_rules_judge_the_numbers_that_are_set():
    unset = {
        "members": "???",
        "seed": "${nope}",
        "data": {"batch_size": "???", "low": "${nope}", "high": 0},
    }
    assert find_problems(OmegaConf.create(unset)) == ["members: must be set (members=...)."]
    wrong = {
        "members": 0,
        "data": {"sub": {"batch_size": -1}, "batch_size": 0, "low": 2, "high": 1},
    }
    assert find_problems(OmegaConf.create(wrong)) == [
        "members=0: must be a positive integer.",
        "data.sub.batch_size=-1: must be a positive integer.",
        "data.batch_size=0: must be a positive integer.",
        "data.low must be below data.high (got low=2, high=1).",
    ]
