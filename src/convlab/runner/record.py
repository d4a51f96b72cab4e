"""``metrics.json``: the record of one run that the report reads."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

RECORD_NAME = "metrics.json"
STATUSES = ("completed", "diverged", "failed", "interrupted")


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf; keep them readable instead of invalid
    return value


def write_record(output_dir: str | Path, record: dict[str, Any]) -> Path:
    """Write atomically, so a killed process never leaves half a file for the report."""
    if record.get("status") not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {record.get('status')!r}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / RECORD_NAME
    body = {key: _plain(value) for key, value in record.items()}
    if "metrics" in body:
        body["metrics"] = {k: _plain(v) for k, v in sorted(body["metrics"].items())}
    fd, tmp = tempfile.mkstemp(dir=output_dir, prefix=".metrics-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(body, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
    return path


def read_record(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / RECORD_NAME
    return json.loads(path.read_text())
