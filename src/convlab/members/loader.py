"""Each member's own batches, stacked: item t holds what each seed's single run sees at step t.

The epoch order is K orders, the one ``TensorLoader(seed=seeds[k])`` draws for each member; with
``steps > 1`` an item is ``steps`` such batches, split as ``StepGroups`` splits. Epoch and
position come from ``TensorLoader``, which keeps a resumed stacked run exact.
"""

from collections.abc import Sequence

import torch

from convlab.data.step_groups import StepGroups
from convlab.data.tensor_loader import TensorLoader


class MemberLoader(StepGroups):
    def __init__(
        self,
        *tensors: torch.Tensor,
        seeds: Sequence[int],
        batch_size: int,
        steps: int = 1,
        **loader_args,
    ) -> None:
        super().__init__(*tensors, batch_size=batch_size, steps=steps, **loader_args)
        # One plain loader per member, used only for the order it would draw.
        loader_args.pop("seed", None)
        self.member_loaders = [
            TensorLoader(*tensors, batch_size=batch_size, seed=seed, **loader_args)
            for seed in seeds
        ]

    def _order(self, epoch: int) -> torch.Tensor:
        orders = [loader._order(epoch) for loader in self.member_loaders]
        if orders[0] is None:  # unshuffled on one process: every member reads in file order
            orders = [torch.arange(self.num_samples, device=self.tensors[0].device)] * len(orders)
        return torch.stack(orders)

    def _take(self, order: torch.Tensor, lo: int, hi: int):
        batch = tuple(t[order[:, lo:hi]] for t in self.tensors)
        if self.steps == 1:
            return batch
        return list(zip(*(t.split(self.step_size, dim=1) for t in batch), strict=True))
