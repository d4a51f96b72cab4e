"""Every problem of a composed config, one line each: pydantic finds the errors (each target's
signature, ``RunConfig`` for the top level); they are said as the command line writes the config.
"""

from __future__ import annotations

import functools
import json
import operator
import os
import re
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, ListConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError

from convlab.errors import ConvlabError
from convlab.runner.check.composition import explain
from convlab.runner.check.environment import environment_problems
from convlab.runner.check.targets import STRICT, closest, listing, target, unknown_key

Check = Callable[[DictConfig], list[str]]
MISSING, UNRESOLVED = object(), object()  # ``???``; what only Hydra's run can resolve
NAMED_GROUPS = ("callbacks", "logger")  # one object per named entry, or null to switch it off
# Rules between two keys of one node: (node, key, key, holds, what must hold).
PAIRS = (("data", "low", "high", operator.lt, "data.low must be below data.high"),
         ("trainer", "min_epochs", "max_epochs", lambda lo, hi: hi == -1 or lo <= hi,
          "trainer.min_epochs must not exceed trainer.max_epochs"))  # fmt: skip
WORDS = {"int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
         "string_type": "a string", "list_type": "a list", "tuple_type": "a list",
         "dict_type": "a mapping", "none_required": "null"}  # fmt: skip
SIGNS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


class Monitor(BaseModel):
    model_config = ConfigDict(**STRICT, extra="forbid")
    metric: str
    mode: Literal["min", "max"]


class RunConfig(BaseModel):
    """Top-level keys of train.yaml and eval.yaml; the groups are checked against their targets."""

    model_config = ConfigDict(**STRICT, extra="allow")
    task_name: str
    seed: Annotated[int | None, Field(ge=0, lt=2**32, description="an integer in [0, 2**32)")]
    members: PositiveInt
    ckpt_path: str | None
    resume: str | None
    test_ckpt: Literal["best", "last"]
    test: bool
    monitor: Monitor  # the metric checkpointing and early stopping watch
    optimized_metric: str | None
    torch_threads: PositiveInt | None
    scheduler: Any


class ConfigError(ConvlabError):
    """The composed config cannot run; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        listed = [f"{len(problems)} problems in the config:", *(f"  - {p}" for p in problems)]
        super().__init__(problems[0] if len(problems) == 1 else "\n".join(listed))


def read(node: DictConfig | ListConfig, key: Any) -> Any:
    """``node[key]``, or ``MISSING`` / ``UNRESOLVED`` where there is no value to check yet."""
    if OmegaConf.is_missing(node, key):
        return MISSING
    try:
        value = node[key]
    except Exception:  # ${hydra:...} outside Hydra's run, or a key the node lacks
        return UNRESOLVED
    # ${hydra:runtime.output_dir} is null until the run's folder is set
    return UNRESOLVED if value is None and OmegaConf.is_interpolation(node, key) else value


def show(value: Any) -> str:
    """A value the way the command line writes it."""
    if isinstance(value, (bool, type(None))):
        return str(value).lower().replace("none", "null")
    return str(value) if value != "" else "''"


def _errors(model: type[BaseModel], values: dict[str, Any]) -> list[dict]:
    try:
        model.model_validate_json(json.dumps(values, default=str))
    except ValidationError as error:
        return [e for e in error.errors() if e["type"] != "missing"]
    return []


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _word(field: Any, error: dict) -> str:
    """What one member of the annotation wanted, in words."""
    if any(isinstance(part, int) for part in error["loc"]):
        return "a list"  # an item inside a list
    if error["type"] in WORDS:
        return WORDS[error["type"]]
    if _is_model(field):
        return f"a mapping of {listing(field.model_fields)}"
    if len(error["loc"]) > 1:  # a member of a union, e.g. is-instance[Tensor]
        return str(error["loc"][-1]).removeprefix("is-instance[").removesuffix("]")
    members = [m for m in typing.get_args(field) if m is not type(None)] or [field]
    return getattr(members[0], "__name__", str(members[0]))


def _bound(model: type[BaseModel], key: str, error: dict, nullable: bool) -> str:
    """``a positive integer``, ``a number >= 0``: a field's description, or its constraint."""
    if description := model.model_fields[key].description:
        return description  # a predicate's (or a bound said better in words)
    ((op, limit),) = error["ctx"].items()
    integer = any(e["type"] == "int_type" for e in _errors(model, {key: 0.5}))
    noun = "integer" if integer else "number"
    text = f"{'an' if integer else 'a'} {noun} {SIGNS[op]} {limit:g}"
    return (f"a positive {noun}" if (op, limit) == ("gt", 0) else text) + " (or null)" * nullable


def _message(model: type[BaseModel], full: str, key: str, value: Any, errors: list[dict],
             owner: str | None, null_by_default: bool) -> str:  # fmt: skip
    nullable = not _errors(model, {key: None})
    if bounds := [e for e in errors if e["type"].startswith(("greater", "less", "predicate"))]:
        need = _bound(model, key, bounds[0], nullable and not null_by_default)
        return f"{full}={show(value)}: must be {need}."
    words, choices = [], []
    for error in errors:
        if error["type"] != "literal_error":
            words.append(_word(model.model_fields[key].annotation, error))
            continue
        words += [] if choices else [None]  # where the choices are said
        choices += [c.strip("'") for c in re.split(r", | or ", error["ctx"]["expected"])]
    said = [w or f"one of {', '.join(dict.fromkeys(choices))}" for w in words] + ["null"] * nullable
    where = f" ({owner}.{key})" if owner else ""
    return f"{full}={show(value)}: expected {' or '.join(dict.fromkeys(said))}{where}."


def _plain(value: Any) -> Any:
    """Plain data to validate, or ``UNRESOLVED`` where a part can only be resolved later."""
    if not isinstance(value, (DictConfig, ListConfig)):
        return value
    try:
        plain = OmegaConf.to_container(value, resolve=True)
    except Exception:
        return UNRESOLVED
    items = plain if isinstance(plain, list) else [plain]  # built by its own _target_: not here
    return UNRESOLVED if any(isinstance(i, dict) and "_target_" in i for i in items) else plain


def _check(path: str, node: DictConfig, model: type[BaseModel], owner: str | None = None,
           none_defaults: frozenset[str] = frozenset()) -> list[str]:  # fmt: skip
    """Every key of ``node`` against ``model``: unknown keys first, then each value in order."""
    unknown, problems = [], []
    fields = model.model_fields
    for key in map(str, node):
        full = f"{path}.{key}" if path else key
        if key.startswith("_") and key.endswith("_"):
            continue  # Hydra's own: _target_, _partial_, _args_
        if key not in fields:
            closed = model.model_config.get("extra") == "forbid"
            unknown += [unknown_key(path, key, fields, owner)] if closed else []
            continue
        value, annotation = read(node, key), fields[key].annotation
        if value is MISSING:
            problems.append(f"{full}: must be set ({full}=...).")
        elif isinstance(value, DictConfig) and _is_model(annotation):
            problems += _check(full, value, annotation)
        elif (value is None and key in none_defaults) or (plain := _plain(value)) is UNRESOLVED:
            continue
        elif errors := _errors(model, {key: plain}):
            problems.append(_message(model, full, key, value, errors, owner, key in none_defaults))
    return unknown + problems


def _node_problems(path: str, node: DictConfig) -> list[str]:
    """A node's own problems: its target's keys, a named group's entries, its pair rules."""
    problems = []
    if isinstance(name := read(node, "_target_"), str):
        try:
            found = target(name)
            problems += _check(path, node, found.model, found.name, found.none_defaults)
        except ImportError as error:
            problems.append(f"{path}._target_={name}: cannot be imported ({error}).")
    for key in node if path in NAMED_GROUPS else ():
        entry = read(node, key)
        builds = isinstance(entry, DictConfig) and "_target_" in entry
        if entry is not None and entry is not UNRESOLVED and not builds:
            problems.append(f"{path}.{key}: an entry needs a _target_ (the class it builds), or "
                            "null to switch it off.")  # fmt: skip
    for where, first, second, holds, rule in PAIRS:
        a, b = (read(node, key) if where == path else None for key in (first, second))
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b)):
            problems += [] if holds(a, b) else [f"{rule} (got {first}={a}, {second}={b})."]
    return problems


def _walk(path: str, node: DictConfig | ListConfig, problems: list[str]) -> None:
    problems += _node_problems(path, node) if isinstance(node, DictConfig) else []
    for key in node if isinstance(node, DictConfig) else range(len(node)):
        child = read(node, key)
        if isinstance(child, (DictConfig, ListConfig)):
            _walk(f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]", child, problems)


@functools.lru_cache(maxsize=8)
def _keys_of(sources: tuple[str, ...], config_name: str | None) -> set[str]:
    """The keys the primary config file (train.yaml, eval.yaml) declares itself."""
    for source in sources if config_name else ():
        if (path := Path(source) / f"{config_name}.yaml").is_file():
            return {str(key) for key in OmegaConf.load(path) if key != "defaults"}
    return set()


def _primary_keys() -> set[str]:
    if not HydraConfig.initialized():
        return set()  # outside Hydra's run the declared keys cannot be told
    hydra = HydraConfig.get()
    sources = tuple(s.path for s in hydra.runtime.config_sources if s.schema == "file")
    return _keys_of(sources, hydra.job.config_name)


def _top_level_problems(cfg: DictConfig) -> list[str]:
    problems = _check("", cfg, RunConfig)
    if isinstance(checkpoint := read(cfg, "ckpt_path"), str) and checkpoint:
        from convlab.runner.resume import check_checkpoint

        found = Path(checkpoint).is_file()
        reason = check_checkpoint(checkpoint) if found else "no such checkpoint file"
        problems += [f"ckpt_path={checkpoint}: {reason}."] if reason else []
    if declared := _primary_keys():  # a key nothing declares, e.g. a typo in an experiment file
        groups = {str(n) for n in HydraConfig.get().runtime.choices if "/" not in str(n)}
        allowed = set(RunConfig.model_fields) | declared | groups | {"hydra"}
        for key in (str(key) for key in cfg if key not in allowed):
            hint = f" Did you mean {guess}?" if (guess := closest(key, allowed)) else ""
            problems.append(f"{key}: no such top-level key.{hint}")
    return problems


def find_problems(cfg: DictConfig, extra_checks: Sequence[Check] = ()) -> list[str]:
    """Every problem of a composed config (``hydra`` itself excluded), in config order; then
    what ``extra_checks`` and the machine's checks find."""
    problems = _top_level_problems(cfg)
    for key in cfg:
        if key != "hydra" and isinstance(node := read(cfg, key), (DictConfig, ListConfig)):
            _walk(str(key), node, problems)
    for check in (*extra_checks, environment_problems):
        problems += check(cfg)
    return list(dict.fromkeys(problems))


def validate_config(cfg: DictConfig, extra_checks: Sequence[Check] = ()) -> None:
    """Raise ``ConfigError`` naming every problem; return quietly when the config can run."""
    if problems := find_problems(cfg, extra_checks):
        raise ConfigError(problems)


def check_jobs(
    config_name: str, jobs: list[list[str]], extra_checks: Sequence[Check] = ()
) -> list[str]:
    """Compose each job of a sweep (inside Hydra's initialised state) and check it; each
    problem is said once."""
    from hydra import compose

    problems: list[str] = []
    for overrides in jobs:
        try:
            found = find_problems(compose(config_name, overrides), extra_checks)
        except ConfigCompositionException as error:
            found = [message] if (message := explain(error, config_name, overrides)) else []
        problems += [problem for problem in found if problem not in problems]
    return problems


def unwritable(directory: str | Path) -> str | None:
    """Why ``directory`` cannot be created or written to, or ``None`` when it can."""
    path = Path(directory).absolute()
    ancestor = next(p for p in (path, *path.parents) if p.exists())
    if not ancestor.is_dir():
        return f"{ancestor} is a file, not a folder"
    return None if os.access(ancestor, os.W_OK | os.X_OK) else f"{ancestor} is not writable"
