"""One HParams table over a whole log directory: ``python -m convlab.report.tensorboard_index
outputs`` (``make tensorboard`` runs it before TensorBoard starts).

TensorBoard builds its HParams columns from the first experiment summary it finds (without one:
from every scalar tag, in name order); a run writes only its session (its row), since it cannot
know the other runs' keys. This writes the one experiment, at the log directory's root (the run
``.``): every run's hyperparameters, flagged ``differs`` where their values differ across the
runs (TensorBoard puts those first and ticks the first five), and the final metrics every
completed run reports (``metrics.json``), then ``train/loss``, so no row has a blank cell. Run
folders are only read."""

import argparse
import os
import time
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

from convlab.report.runs import load_run

# Its own name, so that writing it again replaces it (TensorBoard reads a folder's event files
# in name order: the 0 timestamp puts it first).
INDEX = "events.out.tfevents.0000000000.convlab-hparams"


def _session_start(folder: Path) -> plugin_data_pb2.SessionStartInfo | None:
    for path in sorted(folder.glob("*tfevents*")):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.tag == metadata.SESSION_START_INFO_TAG:
                    # Written first: the rest of the events need not be read.
                    content = value.metadata.plugin_data.content
                    return metadata.parse_session_start_info_plugin_data(content)
    return None


def read_sessions(logdir: Path) -> dict[Path, plugin_data_pb2.SessionStartInfo]:
    """Each run's session start, by the folder of its events; runs without one (no HParams
    row) and ``logdir``'s own events (the index) are left out."""
    folders = sorted({path.parent for path in logdir.rglob("*tfevents*")} - {logdir})
    starts = {folder: _session_start(folder) for folder in folders}
    return {folder: start for folder, start in starts.items() if start is not None}


def final_metrics(folders: list[Path]) -> list[str]:
    """The ``val/*`` and ``test/*`` metrics every completed run's ``metrics.json`` holds,
    paired by metric with the loss last (``val/acc``, ``test/acc``, ``val/loss``, ...), and
    ``train/loss``, which every task logs."""
    runs = [load_run(folder) for folder in folders]  # running, or not a convlab run: missing
    found = [set(run.record["metrics"]) for run in runs if run.status == "completed"]
    common = set.intersection(*found) if found else set()

    def rank(name: str) -> tuple:
        split, _, metric = name.partition("/")
        return metric == "loss", metric, split != "val"

    return [*sorted((n for n in common if n.startswith(("val/", "test/"))), key=rank), "train/loss"]


def merged_experiment(sessions: dict[Path, Any]) -> api_pb2.Experiment:
    """The union of the runs' hyperparameters, typed and bounded by all their values, and
    :func:`final_metrics`."""
    starts = list(sessions.values())
    experiment = api_pb2.Experiment()
    for name in dict.fromkeys(key for start in starts for key in start.hparams):
        values = [start.hparams[name] for start in starts if name in start.hparams]
        kinds = {value.WhichOneof("kind") for value in values}
        texts = sorted({json_format.MessageToJson(value).strip('"') for value in values})
        # A key some runs lack also tells them apart (an empty cell where the others have one).
        info = experiment.hparam_infos.add(
            name=name, differs=len(texts) > 1 or len(values) < len(starts)
        )
        if kinds == {"number_value"}:
            info.type = api_pb2.DATA_TYPE_FLOAT64
            numbers = [value.number_value for value in values]
            info.domain_interval.min_value = min(numbers)
            info.domain_interval.max_value = max(numbers)
        elif kinds == {"bool_value"}:
            info.type = api_pb2.DATA_TYPE_BOOL
            info.domain_discrete.extend(sorted({value.bool_value for value in values}))
        else:  # mixed kinds: text, without a domain, which would filter out the other kinds
            info.type = api_pb2.DATA_TYPE_STRING
            if kinds == {"string_value"}:
                info.domain_discrete.extend(texts)
    for name in final_metrics(list(sessions)):
        dataset = api_pb2.DATASET_TRAINING if name == "train/loss" else api_pb2.DATASET_VALIDATION
        experiment.metric_infos.add(name=api_pb2.MetricName(tag=name), dataset_type=dataset)
    return experiment


def write_index(logdir: Path) -> api_pb2.Experiment | None:
    """Write (or replace) the root experiment of ``logdir``; ``None`` where no run has an
    HParams session (a stale index is removed). An index below it (a sweep's folder served on
    its own) would compete with this one, which TensorBoard could not tell apart: removed."""
    index = logdir / INDEX
    for nested in logdir.glob(f"*/**/{INDEX}"):
        nested.unlink()
    sessions = read_sessions(logdir)
    if not sessions:
        index.unlink(missing_ok=True)
        return None
    experiment = merged_experiment(sessions)
    content = plugin_data_pb2.HParamsPluginData(experiment=experiment)
    value = Summary.Value(tag=metadata.EXPERIMENT_TAG,
                          metadata=metadata.create_summary_metadata(content))  # fmt: skip
    partial = logdir / ".convlab-hparams.partial"  # no "tfevents": a running TensorBoard skips it
    with partial.open("wb") as file:
        writer = RecordWriter(file)
        for event in (Event(wall_time=time.time(), file_version="brain.Event:2"),
                      Event(wall_time=time.time(), summary=Summary(value=[value]))):  # fmt: skip
            writer.write(event.SerializeToString())
    os.replace(partial, index)
    return experiment


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logdir", type=Path, nargs="?", default=Path("outputs"))
    logdir = parser.parse_args(argv).logdir
    experiment = write_index(logdir) if logdir.is_dir() else None
    if experiment is not None:
        differ = sorted(info.name for info in experiment.hparam_infos if info.differs)
        metrics = [info.name.tag for info in experiment.metric_infos]
        print(f"HParams over {logdir}: varying {', '.join(differ) or 'nothing'}; "
              f"metrics {', '.join(metrics) or 'none common to all runs'}")  # fmt: skip


if __name__ == "__main__":
    main()
