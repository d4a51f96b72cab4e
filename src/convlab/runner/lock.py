"""One process per run folder: an OS lock held for the run's whole life.

``flock`` locks belong to the open file: the kernel drops them when the process ends, however it
ends (SIGKILL included), so a lock left by a killed run never blocks a later one. The lock file
holds the owner's pid and host for the message a second process prints.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from convlab.runner.constants import LOCK_NAME

_held: dict[Path, int] = {}  # folder → open file descriptor, for this process


class FolderBusy(Exception):
    """Another process holds the folder's lock."""

    def __init__(self, folder: Path, owner: str) -> None:
        self.folder, self.owner = folder, owner
        super().__init__(f"{folder} is in use by another process ({owner})")


def acquire(folder: str | Path) -> None:
    """Take ``folder``'s lock for this process (again: nothing to do); ``FolderBusy`` if held."""
    folder = Path(folder).absolute()
    if folder in _held:
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise FolderBusy(folder, owner) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
    _held[folder] = fd


def release(folder: str | Path) -> None:
    fd = _held.pop(Path(folder).absolute(), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor drops the lock; the file stays (harmless)
