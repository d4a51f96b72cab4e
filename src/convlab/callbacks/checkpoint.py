"""A ``ModelCheckpoint`` whose ``last.ckpt`` can always be resumed from, exactly.

What stock Lightning (2.6) does not guarantee, and this adds:

- **Never half-written.** Each file is written as ``<name>.part`` next to its final place, synced,
  then renamed over it (``os.replace`` is atomic), so a kill during the write leaves the previous
  ``last.ckpt`` intact. (Lightning writes through a temp file in the system temp folder and moves
  it, which becomes a plain copy, cut short by a kill, when that folder is on another disk.)
- **Always the latest state.** Lightning 2.6 refreshes ``last.ckpt`` only when a top-k
  checkpoint is written, i.e. only when the monitored metric improved; here it is refreshed at
  every epoch end, and every ``last_every_n_steps`` training steps if set (mid-epoch).
- **Random state included.** The torch, numpy and Python generators are saved and restored when
  training resumes, so dropout and other draws continue as if never interrupted.
- **Ctrl-C stops at a clean point.** The first Ctrl-C lets the running step finish, saves
  ``last.ckpt`` and asks the trainer to stop (``Trainer.should_stop``; nothing is saved after
  that, so ``last.ckpt`` holds the step where it stopped); ``run_status()`` then says
  ``interrupted``. A second Ctrl-C stops at once.
  SIGTERM (``kill``, a cluster's time limit), which Lightning turns into a stop after the
  running step, saves ``last.ckpt`` the same way.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
from typing import Any
from weakref import proxy

import lightning as L
import numpy as np
import torch
from lightning.fabric.utilities.cloud_io import _is_local_file_protocol
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.trainer.states import TrainerFn
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


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sigterm(trainer: L.Trainer) -> bool:
    """SIGTERM received, in a single process (under DDP a save by the ranks that got it alone
    would wait forever for the others; Lightning stops all ranks together instead)."""
    return trainer.world_size == 1 and trainer.received_sigterm


def _validation_follows(trainer: L.Trainer) -> bool:
    """Whether a validation runs at the end of this epoch (as ``ModelCheckpoint`` judges it)."""
    batches = trainer.num_val_batches
    batches = sum(batches) if isinstance(batches, list) else batches
    every = trainer.check_val_every_n_epoch
    return bool(
        trainer.enable_validation
        and batches
        and (every is None or (trainer.current_epoch + 1) % every == 0)
    )


class ResumableCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` plus atomic writes, an always-current ``last.ckpt``, saved random
    state and a clean stop on Ctrl-C.

    Args:
        last_every_n_steps: also refresh ``last.ckpt`` every this many training steps, so a
            killed run loses at most that many steps instead of the epoch (``null``: epoch ends
            only). Independent of ``every_n_train_steps``, which schedules the top-k files.
        stop_on_interrupt: catch the first Ctrl-C (SIGINT) during ``fit`` and stop after the
            running step with ``last.ckpt`` saved. Single-process runs only.
        **kwargs: the arguments of ``ModelCheckpoint``.
    """

    def __init__(
        self, *args: Any, last_every_n_steps: PositiveInt | None = None,
        stop_on_interrupt: bool = True, **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        if last_every_n_steps is not None and last_every_n_steps < 1:
            raise ValueError(f"last_every_n_steps must be >= 1 or None, got {last_every_n_steps}")
        self.last_every_n_steps = last_every_n_steps
        self.stop_on_interrupt = stop_on_interrupt
        self._last_step_saved: int | None = None
        self._pending_rng: dict[str, Any] | None = None
        self._stop_requested = False
        self.stopped_at: tuple[int, int] | None = None  # (epoch, step) of a Ctrl-C stop
        self._previous_handler: Any = None

    def run_status(self) -> dict[str, Any] | None:
        if self.stopped_at is None:
            return None
        return {"status": "interrupted", "stopped_at": list(self.stopped_at)}

    # --- writing -------------------------------------------------------------------------
    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        if self.stopped_at is not None:
            return  # what runs after a stop (its validation, epoch end) must not move last.ckpt
        if not _is_local_file_protocol(filepath):
            return super()._save_checkpoint(trainer, filepath)
        partial = filepath + PARTIAL_SUFFIX
        trainer.save_checkpoint(partial, self.save_weights_only)
        if trainer.is_global_zero:
            _fsync(partial)
            os.replace(partial, filepath)
        trainer.strategy.barrier("ResumableCheckpoint._save_checkpoint")
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.after_save_checkpoint(proxy(self))

    def _save_last_checkpoint(self, trainer: L.Trainer, monitor_candidates: dict) -> None:
        super()._save_last_checkpoint(trainer, monitor_candidates)
        if self.save_last:
            self._last_step_saved = trainer.global_step

    def _may_save(self, trainer: L.Trainer) -> bool:
        return (
            not trainer.fast_dev_run
            and trainer.state.fn == TrainerFn.FITTING
            and not trainer.sanity_checking
        )

    def save_last_now(self, trainer: L.Trainer) -> None:
        """Write ``last.ckpt`` for the current step unless it already holds it."""
        if (
            self.save_last
            and self._may_save(trainer)
            and self._last_step_saved != trainer.global_step
        ):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    # --- when ----------------------------------------------------------------------------
    # Saves happen only where Lightning itself checkpoints (after a training step, at the end
    # of validation or of the epoch), so every last.ckpt resumes exactly. A stop (Ctrl-C here,
    # SIGTERM in Lightning) saves at the next such point: mid-epoch right after the step, at
    # the epoch's last step after its validation.
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        if trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            # Lightning ends a SIGTERM'd epoch here unless a validation follows.
            if _sigterm(trainer) and not _validation_follows(trainer):
                self.save_last_now(trainer)
            if self._stop_requested:  # the epoch ends as usual, with its own last.ckpt
                self._stop(trainer, save=False)
            return
        due = self.last_every_n_steps and trainer.global_step % self.last_every_n_steps == 0
        if due or _sigterm(trainer):
            self.save_last_now(trainer)
        if self._stop_requested:
            self._stop(trainer, save=True)

    def on_validation_end(self, trainer, pl_module) -> None:
        super().on_validation_end(trainer, pl_module)
        # SIGTERM stops right after the epoch's validation, before on_train_epoch_end.
        if not self._should_save_on_train_epoch_end(trainer) or _sigterm(trainer):
            self.save_last_now(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self.save_last_now(trainer)
        if self._stop_requested and self.stopped_at is None:
            self._stop(trainer, save=True)  # Ctrl-C came during the epoch's validation

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
            # The same folder spelled differently (relative, symlinked) is still this run's:
            # keep its last.ckpt name instead of starting last-v1.ckpt.
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

    # --- Ctrl-C --------------------------------------------------------------------------
    def setup(self, trainer, pl_module, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if stage == TrainerFn.FITTING:
            self._stop_requested = False
            self.stopped_at = None
        if (
            stage == TrainerFn.FITTING
            and self.stop_on_interrupt
            and trainer.world_size == 1
            and threading.current_thread() is threading.main_thread()
        ):
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)

    def teardown(self, trainer, pl_module, stage: str) -> None:
        super().teardown(trainer, pl_module, stage)
        self._pending_rng = None
        if self._previous_handler is not None:
            if signal.getsignal(signal.SIGINT) == self._on_sigint:
                signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None

    def _on_sigint(self, signum, frame) -> None:
        self._stop_requested = True
        # A second Ctrl-C interrupts at once, the usual way.
        signal.signal(signal.SIGINT, self._previous_handler or signal.default_int_handler)
        log.warning("Ctrl-C: stopping after this step with last.ckpt saved "
                    "(press Ctrl-C again to stop at once)")  # fmt: skip

    def _stop(self, trainer: L.Trainer, save: bool) -> None:
        if save:
            self.save_last_now(trainer)
        self._stop_requested = False
        self.stopped_at = (trainer.current_epoch, trainer.global_step)
        # A stop the user asked for wins over trainer.min_epochs / min_steps.
        trainer.fit_loop.min_epochs = 0
        trainer.fit_loop.epoch_loop.min_steps = None
        trainer.should_stop = True
