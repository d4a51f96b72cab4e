"""A ``ModelCheckpoint`` whose ``last.ckpt`` can always be resumed from, exactly.

What stock Lightning (2.6) does not guarantee, and this adds (through public hooks only; the
top-k files stay Lightning's):

- **Never half-written.** ``last.ckpt`` is written as ``last.ckpt.part`` next to it, synced,
  then renamed over it (``os.replace`` is atomic), so a kill during the write leaves the previous
  ``last.ckpt`` intact. (Lightning writes through a temp file in the system temp folder and moves
  it, which becomes a plain copy, cut short by a kill, when that folder is on another disk.)
- **Always the latest state.** Lightning 2.6 refreshes ``last.ckpt`` only when a top-k
  checkpoint is written, i.e. only when the monitored metric improved; here it is refreshed at
  every epoch end, and every ``last_every_n_steps`` training steps if set (mid-epoch).
- **Random state included.** The torch, numpy and Python generators are saved and restored when
  training resumes, so dropout and other draws continue as if never interrupted.
- **Ctrl-C stops at a clean point.** The first Ctrl-C asks for Lightning's own graceful stop,
  the one SIGTERM gets (the only stop that no ``trainer.min_epochs`` delays): the running step
  finishes, ``last.ckpt`` is saved and ``run_status()`` says ``interrupted``. A second Ctrl-C
  stops at once. SIGTERM (``kill``, a cluster's time limit) saves ``last.ckpt`` the same way.
- **The same folder spelled differently** (relative, symlinked) is still the run's: a resumed
  run keeps its ``last.ckpt`` and its best checkpoint.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from pydantic import PositiveInt

log = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".part"


def collect_rng_state() -> dict[str, Any]:
    """The global generators as plain types and tensors (loadable with ``weights_only=True``)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_atomically(trainer: L.Trainer, path: str, weights_only: bool = False) -> None:
    partial = path + PARTIAL_SUFFIX
    trainer.save_checkpoint(partial, weights_only)
    if trainer.is_global_zero:
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, path)
    trainer.strategy.barrier("save_atomically")


def _stopping(trainer: L.Trainer) -> bool:
    """SIGTERM (or Ctrl-C) received, in a single process (under DDP a save by the ranks that got
    it alone would wait forever for the others; Lightning stops all ranks together instead)."""
    return trainer.world_size == 1 and trainer.received_sigterm


class ResumableCheckpoint(ModelCheckpoint):
    """Args:
    last_every_n_steps: also refresh ``last.ckpt`` every this many training steps, so a
        killed run loses at most that many steps instead of the epoch (``null``: epoch ends
        only). Independent of ``every_n_train_steps``, which schedules the top-k files.
    stop_on_interrupt: catch the first Ctrl-C (SIGINT) during training and stop after the
        running step with ``last.ckpt`` saved. Single-process runs only.
    **kwargs: the arguments of ``ModelCheckpoint``.
    """

    def __init__(
        self, *args: Any, last_every_n_steps: PositiveInt | None = None,
        stop_on_interrupt: bool = True, **kwargs: Any,
    ) -> None:  # fmt: skip
        self.write_last = bool(kwargs.pop("save_last", False))  # written here, not by Lightning
        super().__init__(*args, **kwargs)
        self.last_every_n_steps = last_every_n_steps
        self.stop_on_interrupt = stop_on_interrupt
        self._saved_step: int | None = None
        self._pending_rng: dict[str, Any] | None = None
        self._interrupted = False
        self.stopped_at: tuple[int, int] | None = None  # (epoch, step) of a Ctrl-C stop
        self._previous_handler: Any = None

    def run_status(self) -> dict[str, Any] | None:
        if self.stopped_at is None:
            return None
        return {"status": "interrupted", "stopped_at": list(self.stopped_at)}

    def refresh_last(self, trainer: L.Trainer) -> None:
        """Write ``last.ckpt`` for the current step unless it already holds it."""
        if not self.write_last or trainer.fast_dev_run or self._saved_step == trainer.global_step:
            return
        self.last_model_path = os.path.join(
            self.dirpath, self.CHECKPOINT_NAME_LAST + self.FILE_EXTENSION
        )
        save_atomically(trainer, self.last_model_path, self.save_weights_only)
        self._saved_step = trainer.global_step
        if self._interrupted and _stopping(trainer):
            self.stopped_at = (trainer.current_epoch, trainer.global_step)

    # Saves happen only where Lightning itself checkpoints (after a training step, at the end
    # of validation or of the epoch), so every last.ckpt resumes exactly. A stop saves at the
    # next such point; Lightning then stops right after it.
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        if batch_idx + 1 >= trainer.num_training_batches:
            return  # the epoch's end saves
        every = self.last_every_n_steps
        if (every and trainer.global_step % every == 0) or _stopping(trainer):
            self.refresh_last(trainer)

    def on_validation_end(self, trainer, pl_module) -> None:
        super().on_validation_end(trainer, pl_module)
        if _stopping(trainer) and not trainer.sanity_checking:
            self.refresh_last(trainer)  # a stop during a validation within the epoch

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        self.refresh_last(trainer)

    # --- random state --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "rng_state": collect_rng_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        self._pending_rng = state_dict.pop("rng_state", None)
        saved_dir = state_dict.get("dirpath")
        if (
            saved_dir
            and self.dirpath
            and os.path.realpath(saved_dir) == os.path.realpath(self.dirpath)
        ):
            state_dict["dirpath"] = self.dirpath
            for key in ("last_model_path", "best_model_path", "kth_best_model_path"):
                if state_dict.get(key):
                    state_dict[key] = os.path.join(self.dirpath, os.path.basename(state_dict[key]))
        super().load_state_dict(state_dict)

    def on_train_start(self, trainer, pl_module) -> None:
        # Restored here, not on load: set-up between loading and training (sanity check,
        # other callbacks' on_train_start) must not shift the generators.
        super().on_train_start(trainer, pl_module)
        if self._pending_rng is not None:
            restore_rng_state(self._pending_rng)
            self._pending_rng = None
        # Here, after Lightning has put its own SIGTERM handler in place.
        self._interrupted, self.stopped_at = False, None
        if (
            self.stop_on_interrupt
            and trainer.world_size == 1
            and threading.current_thread() is threading.main_thread()
        ):
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)

    # --- Ctrl-C --------------------------------------------------------------------------
    def _on_sigint(self, signum, frame) -> None:
        self._interrupted = True
        # A second Ctrl-C interrupts at once, the usual way.
        signal.signal(signal.SIGINT, self._previous_handler or signal.default_int_handler)
        log.warning("Ctrl-C: stopping after this step with last.ckpt saved "
                    "(press Ctrl-C again to stop at once)")  # fmt: skip
        signal.raise_signal(signal.SIGTERM)

    def teardown(self, trainer, pl_module, stage: str) -> None:
        super().teardown(trainer, pl_module, stage)
        self._pending_rng = None
        if signal.getsignal(signal.SIGINT) == self._on_sigint:  # a fit that ended without Ctrl-C
            signal.signal(signal.SIGINT, self._previous_handler or signal.default_int_handler)
