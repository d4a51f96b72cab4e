"""The runs of a sweep as rows: status, overrides and final metrics of every job folder."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from convlab.errors import ConvlabError
from convlab.runner.overrides import split_override
from convlab.runner.record import RECORD_NAME

# A job folder without a readable metrics.json: killed, still running, or crashed hard.
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


def _as_float(value: Any) -> float:
    try:
        return float(value)  # "nan" / "inf" as write_record stores them included
    except (TypeError, ValueError):
        return math.nan


def _overrides(job_dir: Path, record: dict[str, Any]) -> dict[str, str]:
    saved = job_dir / ".hydra" / "overrides.yaml"
    items = yaml.safe_load(saved.read_text()) if saved.is_file() else record.get("overrides")
    return dict(split_override(str(item)) for item in items or [])


def load_run(job_dir: str | Path) -> Run:
    job_dir = Path(job_dir)
    try:
        record = json.loads((job_dir / RECORD_NAME).read_text())
    except (OSError, json.JSONDecodeError):
        record = {}
    metrics = {k: _as_float(v) for k, v in (record.get("metrics") or {}).items()}
    metrics.update({k: _as_float(record[k]) for k in EXTRA_METRICS if k in record})
    return Run(job_dir, record.get("status", MISSING), _overrides(job_dir, record), metrics, record)


def _members(job_dir: Path) -> list[Path] | None:
    """The member folders of a stacked run (``members=K``), whose record lists them."""
    try:
        members = json.loads((job_dir / RECORD_NAME).read_text()).get("members")
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
    """All runs of a sweep, in job-number order; jobs without a record count as ``missing``."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ConvlabError(f"{sweep_dir}: no such sweep folder")
    runs = [load_run(job) for job in job_dirs(sweep_dir)]
    return sorted(runs, key=lambda run: (run.job_num, run.name))
