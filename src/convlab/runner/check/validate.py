"""The config check, after Hydra composes a config and before anything is built: every node with a
``_target_`` is validated (pydantic) against the signature of what it names, ``RunConfig`` for the
top level. One line per problem, said as the command line writes the config, with what is valid.
"""

import functools
import json
import operator
import os
import re
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from hydra import compose
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException
from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, create_model

from convlab.errors import ConvlabError
from convlab.runner.check.environment import environment_problems
from convlab.runner.check.targets import STRICT, closest, explain, listing, target, unknown_key
from convlab.runner.overrides import hydra_node, in_multirun, split_override, sweep_jobs
from convlab.runner.resume import checkpoint_problem

Check = Callable[[DictConfig], list[str]]
MISSING, UNRESOLVED = object(), object()  # ``???``; what only Hydra's run can resolve
NAMED_GROUPS = ("callbacks", "logger")  # one object per named entry, or null to switch it off
# Rules between two keys of one node: (node, key, key, holds, what must hold).
PAIRS = (("data", "low", "high", operator.lt, "data.low must be below data.high"),
         ("trainer", "min_epochs", "max_epochs", lambda lo, hi: hi == -1 or lo <= hi,
          "trainer.min_epochs must not exceed trainer.max_epochs"))  # fmt: skip
# What checkpointing and early stopping watch.
Monitor = create_model("Monitor", __config__=ConfigDict(**STRICT, extra="forbid"), metric=str,
                       mode=Literal["min", "max"])  # fmt: skip
WORDS = {"int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
         "string_type": "a string", "list_type": "a list", "tuple_type": "a list",
         "dict_type": "a mapping",
         "model_type": f"a mapping of {listing(Monitor.model_fields)}"}  # fmt: skip
SIGNS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
MAX_JOBS_CHECKED = 256  # a larger sweep's jobs check themselves


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
    monitor: Monitor
    optimized_metric: str | None
    torch_threads: PositiveInt | None
    scheduler: Any


class ConfigError(ConvlabError):
    def __init__(self, problems: list[str]) -> None:
        listed = [f"{len(problems)} problems in the config:", *(f"  - {p}" for p in problems)]
        super().__init__(problems[0] if len(problems) == 1 else "\n".join(listed))


def read(node: DictConfig | ListConfig, key: Any) -> Any:
    """``node[key]``, or ``MISSING`` / ``UNRESOLVED`` where there is no value to check yet."""
    try:
        if OmegaConf.is_missing(node, key):
            return MISSING
        value = node[key]
    except Exception:  # ${hydra:...} outside Hydra's run, or a key the node lacks
        return UNRESOLVED
    # ${hydra:runtime.output_dir} is null until the run's folder is set
    return UNRESOLVED if value is None and OmegaConf.is_interpolation(node, key) else value


def show(value: Any) -> str:
    """A value the way the command line writes it."""
    if isinstance(value, (bool, type(None))):
        return str(value).lower().replace("none", "null")
    return str(value) or "''"


def _errors(model: type[BaseModel], values: dict[str, Any]) -> list[dict]:
    try:
        model.model_validate_json(json.dumps(values, default=str))
    except ValidationError as error:
        return [e for e in error.errors() if e["type"] != "missing"]
    return []


def _message(model: type[BaseModel], key: str, errors: list[dict], owner: str) -> str:
    """What ``key`` needs, from pydantic's errors: ``must be a positive integer.``, ``expected one
    of min, max.``, ``expected a number or Tensor (SGD.lr).``"""
    field, nullable = model.model_fields[key], not _errors(model, {key: None})
    if bounds := [
        e for e in errors if e["type"].startswith(("greater", "less", "predicate", "finite"))
    ]:
        if field.description:  # a predicate's (or a bound said better in words)
            return f"must be {field.description}."
        ((op, limit),) = bounds[0]["ctx"].items()
        integer = any(e["type"] == "int_type" for e in _errors(model, {key: 0.5}))
        noun = "integer" if integer else "number"
        need = f"a{'n' * integer} {noun} {SIGNS[op]} {limit:g}"
        need = f"a positive {noun}" if (op, limit) == ("gt", 0) else need
        return f"must be {need}{' (or null)' * (nullable and field.default is not None)}."
    choices = [c.strip("'") for e in errors if e["type"] == "literal_error"
               for c in re.split(r", | or ", e["ctx"]["expected"])]  # fmt: skip
    members = [m for m in typing.get_args(field.annotation) if m is not type(None)]
    named = getattr(*members[:1] or [field.annotation], "__name__", str(field.annotation))
    said = []
    for error in errors:
        loc, kind = error["loc"], error["type"]
        kind = "list_type" if any(isinstance(part, int) for part in loc) else kind  # an item's
        union_member = str(loc[-1]).removeprefix("is-instance[").removesuffix("]")  # Tensor
        said.append(f"one of {', '.join(dict.fromkeys(choices))}" if kind == "literal_error" else
                    WORDS.get(kind) or (union_member if len(loc) > 1 else named))  # fmt: skip
    where = f" ({owner}.{key})" if owner else ""
    return f"expected {' or '.join(dict.fromkeys(said + ['null'] * nullable))}{where}."


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


def _check(path: str, node: DictConfig, model: type[BaseModel], owner: str = "") -> list[str]:
    """Every key of ``node`` against ``model``: unknown keys first, then each value in order."""
    unknown, problems, fields = [], [], model.model_fields
    for key in (str(k) for k in node if not str(k)[:1] == str(k)[-1:] == "_"):  # Hydra's _target_
        full, field = f"{path}.{key}".lstrip("."), fields.get(key)
        if field is None:
            closed = model.model_config.get("extra") == "forbid"
            unknown += [unknown_key(path, key, fields, owner)] if closed else []
        elif (value := read(node, key)) is MISSING:
            problems.append(f"{full}: must be set ({full}=...).")
        elif isinstance(value, DictConfig) and field.annotation is Monitor:
            problems += _check(full, value, Monitor)
        elif (value is None and field.default is None) or (plain := _plain(value)) is UNRESOLVED:
            continue
        elif errors := _errors(model, {key: plain}):
            problems.append(f"{full}={show(value)}: {_message(model, key, errors, owner)}")
    return unknown + problems


def _walk(path: str, node: DictConfig | ListConfig) -> list[str]:
    """The problems of ``node`` and every node below it, in config order (``hydra`` left out):
    each target's keys, a named group's entries, the rules between two keys."""
    problems, keys = [], range(len(node)) if isinstance(node, ListConfig) else list(node)
    if isinstance(node, DictConfig) and isinstance(name := read(node, "_target_"), str):
        try:
            found = target(name)
            problems += _check(path, node, found, found.__name__)
        except ImportError as error:
            problems.append(f"{path}._target_={name}: cannot be imported ({error}).")
    for key in keys if path in NAMED_GROUPS else ():
        entry = read(node, key)
        builds = isinstance(entry, DictConfig) and "_target_" in entry
        if entry is not None and entry is not UNRESOLVED and not builds:
            problems.append(f"{path}.{key}: an entry needs a _target_ (the class it builds), or "
                            "null to switch it off.")  # fmt: skip
    for _, first, second, holds, rule in (pair for pair in PAIRS if pair[0] == path):
        a, b = read(node, first), read(node, second)
        if {type(a), type(b)} <= {int, float} and not holds(a, b):
            problems.append(f"{rule} (got {first}={a}, {second}={b}).")
    for key in keys:
        child = read(node, key)
        if isinstance(child, (DictConfig, ListConfig)) and (path or key != "hydra"):
            where = f"{path}.{key}".lstrip(".") if isinstance(key, str) else f"{path}[{key}]"
            problems += _walk(where, child)
    return problems


@functools.lru_cache(maxsize=8)
def _keys_of(sources: tuple[str, ...], config_name: str | None) -> set[str]:
    """The keys the primary config file (train.yaml, eval.yaml) declares itself."""
    for source in sources:
        if (path := Path(source) / f"{config_name}.yaml").is_file():
            return {str(key) for key in OmegaConf.load(path) if key != "defaults"}
    return set()


def _primary_keys() -> set[str]:
    if not HydraConfig.initialized():
        return set()  # outside Hydra's run the declared keys cannot be told
    hydra = HydraConfig.get()
    sources = tuple(s.path for s in hydra.runtime.config_sources if s.schema == "file")
    return _keys_of(sources, hydra.job.config_name)


def find_problems(cfg: DictConfig, extra_checks: Sequence[Check] = ()) -> list[str]:
    """Every problem of a composed config: the run's keys, its checkpoint (and, to continue from
    it, that the run computes the same), the top-level keys nothing declares (a typo in an
    experiment), every node in config order; then those ``extra_checks`` and the machine's
    checks find."""
    problems = _check("", cfg, RunConfig)
    if isinstance(read(cfg, "ckpt_path"), str) and (problem := checkpoint_problem(cfg)):
        problems.append(problem)
    if declared := _primary_keys():
        groups = {str(n) for n in HydraConfig.get().runtime.choices if "/" not in str(n)}
        allowed = set(RunConfig.model_fields) | declared | groups | {"hydra"}
        for key in (str(key) for key in cfg if key not in allowed):
            hint = f" Did you mean {guess}?" if (guess := closest(key, allowed)) else ""
            problems.append(f"{key}: no such top-level key.{hint}")
    problems += _walk("", cfg)
    for check in (*extra_checks, environment_problems):
        problems += check(cfg)
    return list(dict.fromkeys(problems))


def validate_config(cfg: DictConfig, extra_checks: Sequence[Check] = ()) -> None:
    if problems := find_problems(cfg, extra_checks):
        raise ConfigError(problems)


def extra_checks(config: DictConfig) -> list[Any]:
    """The checks other packages add: dotted names of ``cfg -> list[str]`` functions."""
    names = OmegaConf.select(
        hydra_node(config), "callbacks.validate_config.extra_checks", default=None
    )
    return [get_object(str(name)) for name in names or ()]


def checked_up_front(config: DictConfig) -> bool:
    """Whether ``ValidateConfig`` checks this run's config before it starts; otherwise (Optuna,
    a very large sweep) each job checks its own (``job.run_job``)."""
    jobs = sweep_jobs(config) if in_multirun(config) else []
    return jobs is not None and len(jobs) <= MAX_JOBS_CHECKED


def unwritable(directory: str | Path) -> str | None:
    """Why ``directory`` cannot be created or written to, or ``None`` when it can."""
    path = Path(directory).absolute()
    ancestor = next(p for p in (path, *path.parents) if p.exists())
    if not ancestor.is_dir():
        return f"{ancestor} is a file, not a folder"
    return None if os.access(ancestor, os.W_OK | os.X_OK) else f"{ancestor} is not writable"


def folder_problem(config: DictConfig, folder_key: str) -> list[str]:
    """Whether the run's output can be written where ``folder_key`` says, before any folder."""
    if not (reason := unwritable(str(folder := OmegaConf.select(config, folder_key)))):
        return []
    return [
        f"{folder_key}={folder}: cannot write the run's output there ({reason}). Choose "
        "another place with paths.log_dir=<folder> or hydra.run.dir/hydra.sweep.dir."
    ]


def check_jobs(config_name: str, jobs: list[list[str]], checks: Sequence[Check] = ()) -> list[str]:
    """Compose each job of a sweep (Hydra initialised) and check it; each problem said once."""
    problems: list[str | None] = []
    for overrides in jobs:
        try:
            problems += find_problems(compose(config_name, overrides), checks)
        except ConfigCompositionException as error:
            problems.append(explain(error, config_name, overrides))
    return [problem for problem in dict.fromkeys(problems) if problem]


def repeated_job(jobs: list[list[str]]) -> str | None:
    """The first job of a sweep that repeats an earlier one (the same values, in any order)."""
    seen: dict[tuple, int] = {}
    for number, job in enumerate(jobs, 1):
        values = tuple(sorted(dict(map(split_override, job)).items()))
        if values in seen:
            return (f"jobs {seen[values]} and {number} of the sweep are the same run "
                    f"({' '.join(job) or 'no overrides'}); give each value once.")  # fmt: skip
        seen[values] = number
    return None


def sweep_problems(config: DictConfig, config_name: str) -> list[str]:
    """A sweep's problems before its first job: its base config, a job repeated, each job's
    config (a basic sweep of up to ``MAX_JOBS_CHECKED`` jobs), its folder."""
    checks = extra_checks(config)
    problems = find_problems(config, checks)
    if not problems and checked_up_front(config):
        jobs = sweep_jobs(config) or []
        problems = [repeated] if (repeated := repeated_job(jobs)) else []
        problems = problems or check_jobs(config_name, jobs, checks)
    return problems + folder_problem(config, "hydra.sweep.dir")
