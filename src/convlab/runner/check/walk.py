"""Walk a composed config and collect every problem, one line each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from omegaconf import DictConfig, ListConfig

from convlab.errors import ConvlabError
from convlab.runner.check.environment import environment_problems
from convlab.runner.check.rules import pair_violations, violation
from convlab.runner.check.schema import check_top_level
from convlab.runner.check.signature import accepts
from convlab.runner.check.suggest import unknown_key
from convlab.runner.check.types import MISSING, UNRESOLVED, mismatch, read, show

_SKIP = ("hydra",)
# Groups holding one object per named entry (or null to switch an entry off).
NAMED_GROUPS = ("callbacks", "logger")


class ConfigError(ConvlabError):
    """The composed config cannot run; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            text = self.problems[0]
        else:
            text = f"{len(self.problems)} problems in the config:\n" + "\n".join(
                f"  - {problem}" for problem in self.problems
            )
        super().__init__(text)


def _is_special(key: Any) -> bool:
    return isinstance(key, str) and key.startswith("_") and key.endswith("_")


def _check_target(path: str, node: DictConfig) -> list[str]:
    target = read(node, "_target_")
    if not isinstance(target, str):
        return []
    try:
        spec = accepts(target)
    except ImportError as error:
        return [f"{path}._target_={target}: cannot be imported ({error})."]
    problems = []
    for key in node:
        if _is_special(key):
            continue
        if key not in spec.params:
            if not spec.open:
                problems.append(unknown_key(path, str(key), spec.params, spec.name))
            continue
        value = read(node, key)
        if value is MISSING:
            problems.append(f"{path}.{key}: must be set ({path}.{key}=...).")
            continue
        if value is UNRESOLVED:
            continue
        if value is None and spec.params[key].default is None:
            continue
        annotation = spec.hints.get(key)
        expected = mismatch(value, annotation) if annotation is not None else None
        if expected:
            problems.append(f"{path}.{key}={show(value)}: expected {expected} ({spec.name}.{key}).")
    return problems


def _check_named_group(path: str, node: DictConfig) -> list[str]:
    """``callbacks``/``logger``: each entry builds one object, or is ``null`` (switched off)."""
    problems = []
    for name in node:
        entry = read(node, name)
        if entry is None or entry is UNRESOLVED:
            continue
        if not isinstance(entry, DictConfig) or "_target_" not in entry:
            problems.append(
                f"{path}.{name}: an entry needs a _target_ (the class it builds), or null to "
                "switch it off."
            )
    return problems


def _walk(path: str, node: Any, problems: list[str]) -> None:
    if isinstance(node, ListConfig):
        for index in range(len(node)):
            child = read(node, index)
            if isinstance(child, (DictConfig, ListConfig)):
                _walk(f"{path}[{index}]", child, problems)
        return
    if not isinstance(node, DictConfig):
        return
    if "_target_" in node:
        problems += _check_target(path, node)
    if path in NAMED_GROUPS:
        problems += _check_named_group(path, node)
    values = {}
    for key in node:
        child = read(node, key)
        child_path = f"{path}.{key}"
        if isinstance(child, (DictConfig, ListConfig)):
            _walk(child_path, child, problems)
            continue
        values[str(key)] = child  # the rules judge numbers only: MISSING and UNRESOLVED pass
        requirement = violation(child_path, child)
        if requirement:
            problems.append(f"{child_path}={show(child)}: must be {requirement}.")
    problems += pair_violations(path, values)


def find_problems(cfg: DictConfig, extra_checks: Sequence[Callable] = ()) -> list[str]:
    """Every problem of a composed config (``hydra`` itself excluded), in config order, then
    those of ``extra_checks`` (functions ``cfg -> list[str]`` other packages add)."""
    problems = check_top_level(cfg)
    for key in cfg:
        if key in _SKIP:
            continue
        value = read(cfg, key)
        if isinstance(value, (DictConfig, ListConfig)):
            _walk(str(key), value, problems)
            continue
        requirement = violation(str(key), value)
        if requirement:
            problems.append(f"{key}={show(value)}: must be {requirement}.")
    for check in extra_checks:
        problems += check(cfg)
    problems += environment_problems(cfg)  # the machine and the budget (CUDA, cores, epochs)
    return list(dict.fromkeys(problems))


def validate_config(cfg: DictConfig) -> None:
    """Raise ``ConfigError`` naming every problem; return quietly when the config can run."""
    problems = find_problems(cfg)
    if problems:
        raise ConfigError(problems)
