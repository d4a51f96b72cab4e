"""Several optimizer batches per loader item, so per-batch framework overhead is paid once.

Lightning spends a fixed few hundred microseconds of hooks and bookkeeping on every batch it
fetches; at batch size 1 on a small net that is more than the step itself. ``StepGroups`` hands
it ``steps`` consecutive batches at once, as a list of ``(x, y)`` tuples, and a task that knows
the format (``RegressionTask`` with ``steps_per_batch``) takes one optimizer step per tuple:
the sequence of optimizer batches is exactly the one of the ungrouped loader (Keras calls this
``steps_per_execution``).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from convlab.data.tensor_loader import TensorLoader


class StepGroups:
    """Wrap ``TensorLoader`` so each item is a list of up to ``steps`` batches of ``batch_size``.

    The wrapped loader draws ``batch_size * steps`` samples at a time from the same per-epoch
    permutation, so splitting them gives the batches the plain loader would give, in order.
    ``state_dict`` / ``load_state_dict`` pass through (resuming restarts at a group boundary,
    which is where Lightning checkpoints anyway).
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, steps: int, **loader_args) -> None:
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        self.batch_size = batch_size
        self.steps = steps
        self.loader = TensorLoader(*tensors, batch_size=batch_size * steps, **loader_args)

    def __len__(self) -> int:
        return len(self.loader)

    @property
    def sampler(self) -> TensorLoader:
        """The wrapped loader, whose ``set_epoch`` Lightning calls at each epoch start."""
        return self.loader

    def __iter__(self) -> Iterator[list[tuple[torch.Tensor, ...]]]:
        for group in self.loader:
            yield list(zip(*(t.split(self.batch_size) for t in group), strict=True))

    def state_dict(self) -> dict[str, int]:
        return self.loader.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.loader.load_state_dict(state)
