"""Several optimizer batches per loader item, so Lightning's per-batch overhead is paid once.

At batch size 1 on a small net Lightning's few hundred microseconds per fetched batch exceed
the step itself. A task that knows the format (``RegressionTask`` with ``steps_per_batch``)
takes one optimizer step per ``(x, y)`` of the list (Keras's ``steps_per_execution``).
"""

from collections.abc import Iterator

import torch

from convlab.data.tensor_loader import TensorLoader


class StepGroups:
    """Each item: up to ``steps`` batches, split from ``batch_size * steps`` samples of the same
    per-epoch permutation, so the plain loader's batches in order. State passes through."""

    def __init__(self, *tensors: torch.Tensor, batch_size: int, steps: int, **loader_args) -> None:
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        self.batch_size = batch_size
        self.steps = steps
        self.loader = TensorLoader(*tensors, batch_size=batch_size * steps, **loader_args)

    def __len__(self) -> int:
        return len(self.loader)

    @property
    def sampler(self) -> TensorLoader:  # Lightning calls its set_epoch
        return self.loader

    def __iter__(self) -> Iterator[list[tuple[torch.Tensor, ...]]]:
        for group in self.loader:
            yield list(zip(*(t.split(self.batch_size) for t in group), strict=True))

    def state_dict(self) -> dict[str, int]:
        return self.loader.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.loader.load_state_dict(state)
