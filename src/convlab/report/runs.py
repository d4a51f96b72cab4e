"""The runs of a sweep as rows: status, overrides and final metrics of every job folder."""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from convlab.errors import ConvlabError
from convlab.record import RECORD_NAME, STATUSES, read_record
from convlab.runner.overrides import split_override

# A job folder without a readable metrics.json: killed, still running, crashed hard, or a record
# the report cannot read (named in the report).
MISSING = "missing"
REPORT_DIR = "report"
# Numbers that callbacks add at the top of metrics.json, read as metrics of the run.
EXTRA_METRICS = ("sharpness", "epsilon_sharpness")


@dataclass
class Run:
    """One job of a sweep. ``metrics`` are floats (NaN/inf included, as the run wrote them)."""

    path: Path
    status: str
    overrides: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    problem: str = ""  # why its metrics.json, or part of it, could not be read

    @property
    def is_member(self) -> bool:
        """A member of a stacked run (``members=K``), in ``<job>/seed=<s>/``."""
        return "member_of" in self.record

    @property
    def name(self) -> str:
        # Every job of a stacked sweep has a seed=<s> member: the job's name keeps them apart.
        return f"{self.path.parent.name}/{self.path.name}" if self.is_member else self.path.name

    @property
    def seed(self) -> str | None:
        seed = self.overrides.get("seed", self.record.get("seed"))
        return None if seed is None else str(seed)

    @property
    def job_num(self) -> int:
        match = re.match(r"(\d+)(_|$)", (self.path.parent if self.is_member else self.path).name)
        return int(match.group(1)) if match else -1


def _number(value: Any) -> float | None:
    """The metric as a float ("nan" / "inf" as write_record stores them included), else None."""
    try:
        return None if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):  # null, a list, an object, a word
        return None


def _numbers(values: dict[str, Any], problems: list[str]) -> dict[str, float]:
    """The numeric values; each other one is named in ``problems`` and left out."""
    numbers = {name: _number(value) for name, value in values.items()}
    if bad := [f"{name}={values[name]!r}" for name, number in numbers.items() if number is None]:
        problems.append(f"not a number: {', '.join(bad)}")
    return {name: number for name, number in numbers.items() if number is not None}


def _read_record(job_dir: Path) -> tuple[dict[str, Any], str]:
    """(the record, why it cannot be read): ``({}, "")`` where there is none yet."""
    if not (job_dir / RECORD_NAME).exists():
        return {}, ""
    try:
        record = read_record(job_dir)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return {}, f"unreadable ({type(error).__name__}: {error})"
    if not isinstance(record, dict):
        return {}, f"not a record (a JSON {type(record).__name__}, not an object)"
    if record.get("status") not in STATUSES:
        return {}, f"status {record.get('status')!r} is not one of {', '.join(STATUSES)}"
    metrics = record.get("metrics")
    if not isinstance(metrics, dict) or (record["status"] == "completed" and not metrics):
        return {}, f"a {record['status']} record without metrics (metrics: {metrics!r})"
    return record, ""


def _overrides(job_dir: Path, record: dict[str, Any]) -> dict[str, str]:
    saved = job_dir / ".hydra" / "overrides.yaml"
    items = yaml.safe_load(saved.read_text()) if saved.is_file() else record.get("overrides")
    return dict(split_override(str(item)) for item in items or [])


def load_run(job_dir: str | Path) -> Run:
    """The job's record; one that cannot be read counts as ``missing``, its ``problem`` says why
    (a metric that is not a number is left out and named there too)."""
    job_dir = Path(job_dir)
    record, unreadable = _read_record(job_dir)
    problems = [unreadable] if unreadable else []
    metrics = _numbers(record.get("metrics") or {}, problems)
    metrics.update(_numbers({k: record[k] for k in EXTRA_METRICS if k in record}, problems))
    status = record.get("status", MISSING)
    return Run(job_dir, status, _overrides(job_dir, record), metrics, record, "; ".join(problems))


def _members(job_dir: Path) -> list[Path] | None:
    """The member folders of a stacked run (``members=K``), whose record lists them."""
    try:
        members = read_record(job_dir).get("members")
    except (OSError, json.JSONDecodeError, AttributeError):
        return None
    return [job_dir / name for name in members] if isinstance(members, list) else None


def job_dirs(sweep_dir: str | Path) -> list[Path]:
    """Every folder below ``sweep_dir`` that is a run: it has a record or a ``.hydra`` folder
    (a stacked run's folder is not a run itself: its members are, one per seed)."""
    sweep_dir = Path(sweep_dir)
    if (sweep_dir / RECORD_NAME).is_file():  # a single run's folder is a sweep of one
        return _members(sweep_dir) or [sweep_dir]
    found = set()
    for marker in (*sweep_dir.rglob(RECORD_NAME), *sweep_dir.rglob(".hydra/overrides.yaml")):
        job = marker.parent.parent if marker.parent.name == ".hydra" else marker.parent
        if REPORT_DIR not in job.relative_to(sweep_dir).parts:
            found.update(_members(job) or [job])
    return sorted(found)


def load_runs(sweep_dir: str | Path) -> list[Run]:
    """All runs of a sweep, in job-number order; jobs without a record count as ``missing``.
    A folder without any run is an error: an empty report would look like a sweep of nothing."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ConvlabError(f"{sweep_dir}: no such sweep folder")
    jobs = job_dirs(sweep_dir)
    if not jobs:
        raise ConvlabError(
            f"{sweep_dir}: no run in this folder (no {RECORD_NAME} or .hydra/overrides.yaml "
            "below it); give a sweep or run folder"
        )
    runs = [load_run(job) for job in jobs]
    return sorted(runs, key=lambda run: (run.job_num, run.name))
