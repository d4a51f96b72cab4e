"""A ``ModelCheckpoint`` whose ``last.ckpt`` always resumes exactly, on public hooks: written as
``last.ckpt.part``, synced and renamed over (Lightning's temp file in the system temp folder is
a plain copy, cut short by a kill, on another disk); refreshed every epoch end and every
``last_every_n_steps`` (Lightning: only on improvement); with the random state; saved on SIGTERM
or a first Ctrl-C (Lightning's graceful stop, which no ``trainer.min_epochs`` delays); kept when
a resume spells the folder differently (relative, symlinked)."""

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


def collect_rng_state() -> dict[str, Any]:
    """Plain types and tensors: loadable with ``weights_only=True``."""
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
    partial = path + ".part"
    trainer.save_checkpoint(partial, weights_only)
    if trainer.is_global_zero:
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, path)
    trainer.strategy.barrier("save_atomically")


def _stopping(trainer: L.Trainer) -> bool:
    # Single process only: under DDP a save by the ranks that got the signal would wait forever
    # for the others; Lightning stops all ranks together instead.
    return trainer.world_size == 1 and trainer.received_sigterm


class ResumableCheckpoint(ModelCheckpoint):
    """``last_every_n_steps``: also refresh ``last.ckpt`` every this many training steps
    (``null``: epoch ends only; ``every_n_train_steps`` schedules the top-k files).
    ``stop_on_interrupt``: the first Ctrl-C stops after the running step (single process)."""

    def __init__(
        self, *args: Any, last_every_n_steps: PositiveInt | None = None,
        stop_on_interrupt: bool = True, **kwargs: Any,
    ) -> None:  # fmt: skip
        self.write_last = bool(kwargs.pop("save_last", False))  # written here, not by Lightning
        super().__init__(*args, **kwargs)
        self.last_every_n_steps = last_every_n_steps
        self.stop_on_interrupt = stop_on_interrupt
        self._saved_step, self._pending_rng = None, None  # last.ckpt's step; the state to restore
        self._interrupted, self._previous_handler = False, None
        self.stopped_at: tuple[int, int] | None = None  # (epoch, step) of a Ctrl-C stop

    def run_status(self) -> dict[str, Any] | None:
        stopped = self.stopped_at
        return None if stopped is None else {"status": "interrupted", "stopped_at": list(stopped)}

    def refresh_last(self, trainer: L.Trainer) -> None:
        if not self.write_last or trainer.fast_dev_run or self._saved_step == trainer.global_step:
            return
        self.last_model_path = self.format_checkpoint_name({}, self.CHECKPOINT_NAME_LAST)
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

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "rng_state": collect_rng_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        self._pending_rng = state_dict.pop("rng_state", None)
        saved_dir, real = state_dict.get("dirpath"), os.path.realpath
        if saved_dir and self.dirpath and real(saved_dir) == real(self.dirpath):
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
        main_thread = threading.current_thread() is threading.main_thread()
        if self.stop_on_interrupt and trainer.world_size == 1 and main_thread:
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)

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
