"""Several optimizer batches per loader item, so Lightning's per-batch overhead is paid once.

At batch size 1 on a small net Lightning's few hundred microseconds per fetched batch exceed
the step itself. A task that knows the format (``RegressionTask`` with ``steps_per_batch``)
takes one optimizer step per ``(x, y)`` of the list (Keras's ``steps_per_execution``).
"""

import torch

from convlab.data.tensor_loader import TensorLoader


class StepGroups(TensorLoader):
    """Each item: up to ``steps`` batches of ``step_size``, split from ``step_size * steps``
    samples of the same per-epoch permutation, so the plain loader's batches in order. Epoch,
    position and state are the ``TensorLoader``'s of the groups."""

    def __init__(self, *tensors: torch.Tensor, batch_size: int, steps: int, **loader_args) -> None:
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        super().__init__(*tensors, batch_size=batch_size * steps, **loader_args)
        self.step_size, self.steps = batch_size, steps

    def _take(self, order: torch.Tensor | None, lo: int, hi: int) -> list[tuple[torch.Tensor, ...]]:
        group = super()._take(order, lo, hi)
        return list(zip(*(t.split(self.step_size) for t in group), strict=True))
