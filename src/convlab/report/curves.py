"""Validation curves of a run, read back from its TensorBoard events or its CSV log.

A curve is a list of ``(epoch, value)`` with epochs counted from 1 (the value after the first
epoch is at 1). A resumed run has several event files that may repeat a step; the later value
wins, as it is the one the resumed run went on from.
"""

from __future__ import annotations

import csv
import logging
import math
import statistics
from pathlib import Path

Curve = list[tuple[float, float]]

log = logging.getLogger(__name__)


def _tensorboard_series(run_dir: Path) -> dict[str, dict[int, float]] | None:
    event_dirs = sorted({p.parent for p in run_dir.rglob("events.out.tfevents.*")})
    if not event_dirs:
        return None
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    series: dict[str, dict[int, float]] = {}
    for directory in event_dirs:
        accumulator = EventAccumulator(str(directory), size_guidance={"scalars": 0})
        accumulator.Reload()  # event files in name (= creation time) order
        for tag in accumulator.Tags().get("scalars", []):
            points = series.setdefault(tag, {})
            for event in accumulator.Scalars(tag):
                points[event.step] = event.value
    return series


def _csv_series(run_dir: Path) -> dict[str, dict[int, float]] | None:
    files = sorted(run_dir.rglob("metrics.csv"))
    if not files:
        return None
    series: dict[str, dict[int, float]] = {}
    for path in files:
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                step = int(float(row.get("step") or 0))
                for tag, value in row.items():
                    if tag in ("step", None) or value in ("", None):
                        continue
                    series.setdefault(tag, {})[step] = float(value)
    return series


def load_series(run_dir: str | Path) -> dict[str, dict[int, float]]:
    """Every logged scalar as ``tag → {step: value}``: TensorBoard if present, else CSV."""
    run_dir = Path(run_dir)
    try:
        series = _tensorboard_series(run_dir)
    except Exception as error:  # a truncated event file from a killed run must not stop a report
        log.warning("%s: unreadable TensorBoard events (%s); trying the CSV log", run_dir, error)
        series = None
    if series is None:
        series = _csv_series(run_dir)
    return series or {}


def load_curves(run_dir: str | Path, prefix: str = "val/") -> dict[str, Curve]:
    """The ``val/*`` curves (or another ``prefix``) of a run, per epoch."""
    series = load_series(run_dir)
    epochs = series.get("epoch", {})  # logged at each step: the point's epoch, counted from 0
    return {
        tag: [(epochs[step] + 1 if step in epochs else i + 1, points[step])
              for i, step in enumerate(sorted(points))]
        for tag, points in series.items()
        if tag.startswith(prefix) and not tag.endswith("_step")
    }  # fmt: skip


def mean_curve(curves: list[Curve]) -> tuple[list[float], list[float], list[float]]:
    """Epochs, mean and std over runs (each epoch over the runs that reached it)."""
    values: dict[float, list[float]] = {}
    for curve in curves:
        for epoch, value in curve:
            if math.isfinite(value):
                values.setdefault(epoch, []).append(value)
    epochs = sorted(values)
    means = [statistics.fmean(values[e]) for e in epochs]
    stds = [statistics.stdev(values[e]) if len(values[e]) > 1 else 0.0 for e in epochs]
    return epochs, means, stds
