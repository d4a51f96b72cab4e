"""Validation curves of a run, read back from its TensorBoard events or its CSV log.

A curve is a list of ``(epoch, value)``, epochs counted from 1. Where a resumed run's event
files repeat a step, the later value wins: the resumed run went on from it.
"""

import csv
import logging
import math
import statistics
from pathlib import Path

Curve = list[tuple[float, float]]
Curves = dict[str, dict[str, Curve]]  # run name → tag → curve

log = logging.getLogger(__name__)


def _tensorboard_series(event_dirs: list[Path]) -> dict[str, dict[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    series: dict[str, dict[int, float]] = {}
    for directory in event_dirs:
        accumulator = EventAccumulator(str(directory), size_guidance={"scalars": 0})
        accumulator.Reload()  # event files in name (= creation time) order
        for tag in accumulator.Tags().get("scalars", []):
            series.setdefault(tag, {}).update((e.step, e.value) for e in accumulator.Scalars(tag))
    return series


def load_series(run_dir: str | Path) -> dict[str, dict[int, float]]:
    """Every logged scalar as ``tag → {step: value}``: TensorBoard if present, else CSV."""
    run_dir = Path(run_dir)
    event_dirs = sorted({p.parent for p in run_dir.rglob("events.out.tfevents.*")})
    try:
        if event_dirs:
            return _tensorboard_series(event_dirs)
    except Exception as error:  # a truncated event file from a killed run must not stop a report
        log.warning("%s: unreadable TensorBoard events (%s); trying the CSV log", run_dir, error)
    series: dict[str, dict[int, float]] = {}
    for path in sorted(run_dir.rglob("metrics.csv")):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                step = int(float(row.get("step") or 0))
                for tag, value in row.items():
                    if tag not in ("step", None) and value not in ("", None):
                        series.setdefault(tag, {})[step] = float(value)
    return series


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
