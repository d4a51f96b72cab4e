"""Mini-batches cut from tensors already in memory: no per-sample Python, no collate.

A ``DataLoader`` over a ``TensorDataset`` indexes one sample at a time and stacks the results;
for small images or scalar pairs that Python overhead dominates the step. Here one permutation
per epoch is drawn and each batch is a single ``index_select``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


class TensorLoader:
    """Iterate over aligned tensors in batches; shuffled per epoch from a fixed seed.

    The order of epoch ``e`` depends only on ``(seed, e)``. The epoch comes from the trainer:
    Lightning calls ``sampler.set_epoch(e)`` on every training loader as epoch ``e`` starts, with
    its own (checkpointed) epoch counter, so a resumed run draws the order of the epoch it is
    really in. Without a trainer, each full pass moves on to the next epoch. ``state_dict`` /
    ``load_state_dict`` (saved in checkpoints for stateful loaders) add the position inside an
    epoch, for a resume mid-epoch.
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not tensors:
            raise ValueError("TensorLoader needs at least one tensor")
        length = tensors[0].shape[0]
        if any(t.shape[0] != length for t in tensors):
            raise ValueError("all tensors must have the same first dimension")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.tensors = tensors
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        # Under DDP each rank takes every world_size-th sample of the epoch's order.
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self._batches_yielded = 0
        self._resume_batches = 0

    @property
    def num_samples(self) -> int:
        """Samples this rank sees per epoch (equal on every rank when training shuffled)."""
        total = self.tensors[0].shape[0]
        if self.world_size == 1:
            return total
        if self.shuffle:  # equal counts keep the ranks' step counts, and so DDP, in lock-step
            return total // self.world_size
        return len(range(self.rank, total, self.world_size))

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return -(-self.num_samples // self.batch_size)

    def _order(self, epoch: int) -> torch.Tensor | None:
        total = self.tensors[0].shape[0]
        if self.shuffle:
            generator = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) % (2**63 - 1))
            order = torch.randperm(total, generator=generator)
        elif self.world_size > 1:
            order = torch.arange(total)
        else:
            return None
        if self.world_size > 1:
            order = order[self.rank :: self.world_size][: self.num_samples]
        return order.to(self.tensors[0].device)

    # Lightning looks for ``set_epoch`` on ``loader.sampler`` (as on a ``DistributedSampler``)
    # and reads ``batch_sampler`` next to it.
    batch_sampler = None

    @property
    def sampler(self) -> TensorLoader:
        return self

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator:
        epoch = self.epoch
        self.epoch += 1
        start_batch, self._resume_batches = self._resume_batches, 0
        order = self._order(epoch)
        self._batches_yielded = start_batch
        for index in range(start_batch, len(self)):
            lo = index * self.batch_size
            hi = min(lo + self.batch_size, self.num_samples)
            batch = self._take(order, lo, hi)
            self._batches_yielded = index + 1
            yield batch

    def _take(self, order: torch.Tensor | None, lo: int, hi: int) -> tuple[torch.Tensor, ...]:
        """Samples ``lo:hi`` of the epoch's order (``MemberLoader`` takes K orders at once)."""
        if order is None:
            return tuple(t[lo:hi] for t in self.tensors)
        idx = order[lo:hi]
        return tuple(t.index_select(0, idx) for t in self.tensors)

    def state_dict(self) -> dict[str, int]:
        """Position inside the current epoch (the epoch whose batches are being yielded)."""
        return {"epoch": max(self.epoch - 1, 0), "batches_yielded": self._batches_yielded}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Make the next ``iter()`` continue the saved epoch after its last yielded batch."""
        batches = int(state["batches_yielded"])
        finished = batches >= len(self)
        self.epoch = int(state["epoch"]) + finished
        self._resume_batches = 0 if finished else batches
