"""The HParams index over a log directory, on hand-written event files."""

from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

from convlab.callbacks.hparams import session_start_summary
from convlab.report.tensorboard_index import INDEX, read_sessions, write_index


def _events(folder: Path, session: dict | None) -> None:
    writer = SummaryWriter(str(folder))
    writer.add_scalar("train/loss", 0.5, 1)
    if session is not None:
        writer.file_writer.add_summary(session_start_summary(session))
    writer.close()


def test_only_folders_with_a_session_start_are_rows(tmp_path):
    _events(tmp_path / "a", {"lr": 0.1, "model": "lenet"})
    _events(tmp_path / "b", {"lr": 0.3, "model": "lenet"})
    _events(tmp_path / "scalars_only", None)  # a run without an HParams row
    assert sorted(read_sessions(tmp_path)) == [tmp_path / "a", tmp_path / "b"]
    assert read_sessions(tmp_path)[tmp_path / "b"].hparams["lr"].number_value == 0.3
    experiment = write_index(tmp_path)
    assert {info.name: info.differs for info in experiment.hparam_infos} == {
        "lr": True, "model": False}  # fmt: skip
    assert (tmp_path / INDEX).is_file() and sorted(read_sessions(tmp_path)) == [
        tmp_path / "a", tmp_path / "b"]  # fmt: skip


def test_without_any_session_a_stale_index_is_removed(tmp_path):
    _events(tmp_path / "scalars_only", None)
    (tmp_path / INDEX).write_bytes(b"")
    assert write_index(tmp_path) is None and not (tmp_path / INDEX).exists()
