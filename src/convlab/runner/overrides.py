"""The one parser of command-line overrides (Hydra's public ``OverridesParser``, so sweeps and
quoting mean what they mean to Hydra): a sweep's jobs, what it varies, each job's folder name."""

import hashlib
import itertools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

MAX_LENGTH = 80  # of a job folder's name
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]")


def in_multirun(config: DictConfig | None = None) -> bool:
    """Whether this job (or the run of ``config``, a full config or its ``hydra`` node) is in a
    multirun."""
    if config is None and not HydraConfig.initialized():
        return False
    return hydra_node(config or HydraConfig.get()).get("mode") == RunMode.MULTIRUN


def job_overrides() -> list[str]:
    """This job's overrides as typed (``[]`` outside Hydra); a resumed run's without the
    ``resume=`` and ``ckpt_path=`` that continue it."""
    found = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    if any(split_override(o)[0] == "resume" for o in found):
        found = [o for o in found if split_override(o)[0] not in ("resume", "ckpt_path")]
    return found


def split_override(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def quote(value: str | Path) -> str:
    """A value as a quoted override string (paths of sweep jobs hold ``=`` and ``,``)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _expanded(overrides: Sequence[str]) -> list[tuple[Any, list[str]]]:
    """Each override parsed, with its values as overrides (a sweep's in order)."""
    return [(o, [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()]
             if o.is_sweep_override() else [o.input_line])
            for o in OverridesParser.create().parse_overrides(list(overrides))]  # fmt: skip


def first_job(overrides: Sequence[str], without: str | None = None) -> list[str]:
    """The overrides of a sweep's first job, minus the key ``without``."""
    return [values[0] for o, values in _expanded(overrides) if o.key_or_group != without and values]


def hydra_node(config: DictConfig) -> DictConfig:
    return config.hydra if "hydra" in config else config


def sweep_jobs(config: DictConfig) -> list[list[str]] | None:
    """Each job's overrides, as Hydra's basic sweeper expands them; ``None`` for other sweepers
    and sweeps that need the config repository (``glob``)."""
    hydra = hydra_node(config)
    sweeper = hydra.get("sweeper") or {}
    if "BasicSweeper" not in str(sweeper.get("_target_", "")):
        return None
    params = OmegaConf.to_container(sweeper.params, resolve=False) if sweeper.get("params") else {}
    arguments = [*(f"{key}={value}" for key, value in params.items()), *hydra.overrides.task]
    try:  # a key given twice keeps its first place and its last values
        choices = {o.get_key_element(): values for o, values in _expanded(arguments)}
    except Exception:
        return None
    return [list(job) for job in itertools.product(*choices.values())]


def count_jobs(config: DictConfig) -> int | None:
    """How many jobs the sweep launches (Optuna: ``n_trials``); ``None`` where not known."""
    sweeper = hydra_node(config).get("sweeper") or {}
    if "optuna" in str(sweeper.get("_target_", "")).lower():
        return int(sweeper.get("n_trials")) if sweeper.get("n_trials") else None
    jobs = sweep_jobs(config)
    return None if jobs is None else len(jobs)


def sweep_definitions() -> list[str]:
    """This job's sweep as typed: the sweeper's ``params`` and the command line, which the
    basic sweeper saves as ``<sweep dir>/multirun.yaml`` before any job starts."""
    if not in_multirun():
        return []
    hydra_cfg = HydraConfig.get()
    params = OmegaConf.select(hydra_cfg, "sweeper.params", default=None) or {}
    found = [f"{key}={value}" for key, value in params.items()]
    saved = Path(hydra_cfg.sweep.dir) / "multirun.yaml"
    if saved.is_file():
        found += list(OmegaConf.select(OmegaConf.load(saved), "hydra.overrides.task") or [])
    return found


def sweep_domains(definitions: Sequence[str] | None = None) -> dict[str, Any]:
    """The keys a sweep varies, in order, with their values: ``["seed=1,2", "experiment=lenet"]``
    → ``{"seed": [1, 2]}``; ``interval(a, b)`` gives ``(a, b)``, a glob ``None``."""
    parser = OverridesParser.create()
    domains: dict[str, Any] = {}
    for definition in sweep_definitions() if definitions is None else definitions:
        try:
            (override,) = parser.parse_overrides([str(definition)])
        except Exception:  # Hydra parsed it already; a column or a name is not worth a crash
            continue
        if override.is_hydra_override() or not override.is_sweep_override():
            continue
        value = override.value()
        domain = (value.start, value.end) if isinstance(value, IntervalSweep) else None
        if isinstance(value, ChoiceSweep | RangeSweep):
            domain = list(override.sweep_iterator())
        domains.setdefault(override.key_or_group, domain)
    return domains


def job_dirname(
    num: int | str,
    overrides: Iterable[str],
    exclude: Iterable[str] = (),
    first: Any = None,
    only: Iterable[str] = (),
) -> str:
    """``3`` and ``["seed=1", "model.pooling=max"]`` → ``"3_pooling=max,seed=1"``: unlike
    Hydra's ``override_dirname``, no ``/`` and no dotted keys; a long name is cut and ends with a
    hash of the whole. ``first`` keys lead (they survive a cut); ``only`` keys are kept."""
    excluded, kept = set(exclude), set(only)
    leading = [str(key) for key in (first or ())]
    items = []
    for override in overrides:
        key, value = split_override(str(override))
        if key in excluded or (kept and key not in kept):
            continue
        short = key.rsplit(".", 1)[-1].replace("/", "-")
        text = f"{short}={value}" if value else short
        items.append((key, _UNSAFE.sub("_", text), "/" in value or len(value) > 24))
    # Long values (paths) go last, so a cut name keeps the short values that tell jobs apart.
    rank = {key: len(leading) - 1 - i for i, key in enumerate(reversed(leading))}
    items.sort(key=lambda item: (rank.get(item[0], len(leading)), item[2], item[0]))
    name = ",".join(text for _, text, _ in items)
    prefix = f"{num}_" if name else f"{num}"
    if len(prefix) + len(name) > MAX_LENGTH:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = name[: MAX_LENGTH - len(prefix) - len(digest) - 1] + "-" + digest
    return prefix + name


def sweep_job_dirname(num: Any, overrides: Any, exclude: Any, first: Any) -> str:
    return job_dirname(num, overrides, exclude, first, only=list(sweep_domains()))
