"""``metrics.json``, the record every run folder ends with whatever happened (the only thing the
report reads), and the file names the run machinery agrees on."""

import dataclasses
import json
import math
import os
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
EXIT_USER_ERROR = 2  # bad config, missing or corrupt data
EXIT_FAILED = 1  # anything else that went wrong inside a run
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report it
TOTAL_ENV = "CONVLAB_SWEEP_JOBS"  # the sweep's job count, for "job 3/12" in every worker


def _json_value(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    # JSON has no NaN/inf; keep them readable instead of invalid
    return str(value) if isinstance(value, float) and not math.isfinite(value) else value


@dataclass
class RunRecord:
    """``extras`` are written as top-level keys next to the fixed ones."""

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
        body["metrics"] = {k: _json_value(v) for k, v in sorted(self.metrics.items())}
        optional = ("error", "ckpt_path")
        return {k: _json_value(v) for k, v in body.items() if k not in optional or v is not None}

    def write(self, output_dir: str | Path) -> Path:
        """Atomically, so a killed process never leaves half a file for the report; with the
        permissions the other files get (the umask's), and no temporary file left on failure."""
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        path, tmp = output_dir / RECORD_NAME, output_dir / f".{RECORD_NAME}.{os.getpid()}"
        try:
            tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> "RunRecord":
        names = {f.name for f in dataclasses.fields(cls)} - {"extras"}
        extras = {key: value for key, value in body.items() if key not in names}
        return cls(**{k: v for k, v in body.items() if k in names}, extras=extras)


def read_record(path: str | Path) -> dict[str, Any]:
    """The record as plain JSON (a run folder or its ``metrics.json``)."""
    path = Path(path)
    return json.loads((path / RECORD_NAME if path.is_dir() else path).read_text())


def write_record(output_dir: str | Path, record: dict[str, Any]) -> Path:
    return RunRecord.from_json(record).write(output_dir)


def first_line(error: BaseException) -> str:
    """``ValueError: lr must be positive`` — the type and the first line of the message."""
    line = next(iter(str(error).strip().splitlines()), "")
    return f"{type(error).__name__}: {line}" if line else type(error).__name__
