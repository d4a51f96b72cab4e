"""``metrics.json``: the record of one run, the only thing the report reads, and the names every
part of the run machinery agrees on.

Every run folder ends with one, whatever happened: ``completed`` or ``diverged`` from a finished
training, ``failed`` (with the error's first line) or ``interrupted`` when it stopped early.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RECORD_NAME = "metrics.json"
CHECKPOINTS = "checkpoints"
LAST_CKPT = "last.ckpt"
LOCK_NAME = ".lock"
FINGERPRINT_NAME = ".config_fingerprint"
STATUSES = ("completed", "diverged", "failed", "interrupted")
FINISHED = ("completed", "diverged")  # a job with one of these has its result: a re-run skips it
# Top-level keys (and overrides) that may differ between two runs of the same computation:
# resuming, moving the output, or reaching it through a named sweep changes none of them.
LOCATION_KEYS = ("paths", "hydra", "ckpt_path", "resume", "task_name", "sweep")


def _json_value(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf; keep them readable instead of invalid
    return value


@dataclass
class RunRecord:
    """What a run leaves for the report. ``extras`` are written as top-level keys next to the
    fixed ones (``epoch_durations_s``, ``diverged_at_step``, ``kernel``, ``data``, ...)."""

    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    seed: int | None = None
    epochs: int | None = None
    steps: int | None = None
    duration_s: float | None = None
    overrides: list[str] = field(default_factory=list)
    error: str | None = None
    ckpt_path: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        body = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        body.update(body.pop("extras"))
        for optional in ("error", "ckpt_path"):
            if body[optional] is None:
                del body[optional]
        body["metrics"] = {k: _json_value(v) for k, v in sorted(self.metrics.items())}
        return {key: _json_value(value) for key, value in body.items()}

    def write(self, output_dir: str | Path) -> Path:
        """Atomically, so a killed process never leaves half a file for the report."""
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=output_dir, prefix=".metrics-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(self.to_json(), handle, indent=2)
            handle.write("\n")
        path = output_dir / RECORD_NAME
        os.replace(tmp, path)
        return path

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> RunRecord:
        names = {f.name for f in dataclasses.fields(cls)} - {"extras"}
        known = {key: value for key, value in body.items() if key in names}
        extras = {key: value for key, value in body.items() if key not in names}
        return cls(**known, extras=extras)


def read_record(path: str | Path) -> dict[str, Any]:
    """The record as plain JSON (a run folder or its ``metrics.json``)."""
    path = Path(path)
    if path.is_dir():
        path = path / RECORD_NAME
    return json.loads(path.read_text())


def write_record(output_dir: str | Path, record: dict[str, Any]) -> Path:
    """Write a plain-dict record (tests and tools that build one by hand)."""
    return RunRecord.from_json(record).write(output_dir)


def first_line(error: BaseException) -> str:
    """``ValueError: lr must be positive`` — the type and the first line of the message."""
    text = str(error).strip()
    line = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {line}" if line else type(error).__name__
