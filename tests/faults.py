"""Faults injected into real ``train.py`` runs by the reliability tests (``+callbacks.fault=...``).

They run inside the subprocess, so a kill lands at an exact, repeatable point of training.
"""

from __future__ import annotations

import errno
import io
import os
import signal

import torch
from lightning.pytorch.callbacks import Callback
from torch.nn import functional as F

from convlab.models.lenet import LeNet


class SignalAt(Callback):
    """Send ``signal_name`` to this process as training step ``step`` starts (fresh runs only).

    A run resumed from a checkpoint (``trainer.ckpt_path`` set) is left alone, so the resumed
    run, which repeats the original overrides, finishes.
    """

    def __init__(
        self, step: int, signal_name: str = "SIGINT", once_file: str | None = None
    ) -> None:
        self.step = step
        self.signal_name = signal_name
        self.once_file = once_file  # fire only in the first process that gets here (a sweep)
        self.fired = False

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.ckpt_path is None and not self.fired and trainer.global_step == self.step:
            if self.once_file:
                if os.path.exists(self.once_file):
                    return
                open(self.once_file, "w").close()
            self.fired = True
            os.kill(os.getpid(), getattr(signal, self.signal_name))


class KillDuringWrite(Callback):
    """SIGKILL this process halfway through writing the ``nth`` checkpoint file named ``*match*``.

    Half of the real checkpoint's bytes reach the file being written, as when a kill cuts a
    write short; then the process dies without any clean-up.
    """

    def __init__(self, nth: int = 2, match: str = "last") -> None:
        self.nth = nth
        self.match = match
        self.count = 0

    def on_fit_start(self, trainer, pl_module) -> None:
        checkpoint_io = trainer.strategy.checkpoint_io
        original = checkpoint_io.save_checkpoint

        def save_checkpoint(checkpoint, path, storage_options=None):
            if self.match in os.path.basename(str(path)):
                self.count += 1
                if self.count == self.nth:
                    buffer = io.BytesIO()
                    torch.save(checkpoint, buffer)
                    data = buffer.getvalue()
                    with open(path, "wb") as handle:
                        handle.write(data[: len(data) // 2])
                        handle.flush()
                        os.fsync(handle.fileno())
                    os.kill(os.getpid(), signal.SIGKILL)
            return original(checkpoint, path, storage_options)

        checkpoint_io.save_checkpoint = save_checkpoint


class FailAt(Callback):
    """Raise ``RuntimeError(message)`` as training step ``step`` starts."""

    def __init__(self, step: int = 0, message: str = "injected failure") -> None:
        self.step = step
        self.message = message

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            raise RuntimeError(f"{self.message}\nsecond line that the record leaves out")


class DropoutLeNet(LeNet):
    """LeNet with dropout before its classifier: training draws random numbers every step."""

    def __init__(self, p: float = 0.3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.p = p

    def forward(self, x):
        return self.classifier(F.dropout(self.features(x), self.p, self.training))


class SignalOnBuild(Callback):
    """Send ``signal_name`` to this process as the run builds its callbacks: after the folder's
    lock is taken, before training starts."""

    def __init__(self, signal_name: str = "SIGTERM") -> None:
        os.kill(os.getpid(), getattr(signal, signal_name))


class KillOnTest(Callback):
    """SIGKILL this process as the test starts, once (``once_file`` remembers): a run killed
    during its test."""

    def __init__(self, once_file: str) -> None:
        self.once_file = once_file

    def on_test_start(self, trainer, pl_module) -> None:
        if not os.path.exists(self.once_file):
            open(self.once_file, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)


class DiskFullAt(Callback):
    """Raise the error a write on a full disk raises, as epoch ``epoch`` ends."""

    def __init__(self, epoch: int = 0) -> None:
        self.epoch = epoch

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.current_epoch == self.epoch:
            raise OSError(errno.ENOSPC, "No space left on device")
