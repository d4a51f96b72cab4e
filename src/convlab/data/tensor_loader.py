"""Mini-batches cut from tensors already in memory: no per-sample Python, no collate.

A ``DataLoader`` over a ``TensorDataset`` indexes and stacks one sample at a time, which
dominates the step for small images; here each batch is one ``index_select``.
"""

from collections.abc import Iterator

import lightning as L
import torch


class TensorLoader:
    """Aligned tensors in batches; the order of epoch ``e`` depends only on ``(seed, e)``.

    Lightning calls ``sampler.set_epoch(e)`` with its checkpointed epoch, so a resumed run draws
    the order of the epoch it is in (without a trainer each pass moves on); ``state_dict`` adds
    the position inside the epoch, for a resume mid-epoch.
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
        self.rank, self.world_size = rank, world_size  # each rank: every world_size-th sample
        self.epoch = 0
        self._batches_yielded = 0
        self._resume_batches = 0

    @property
    def num_samples(self) -> int:
        """Samples this rank sees per epoch (equal on every rank when training shuffled)."""
        total = self.tensors[0].shape[0]
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
    def sampler(self) -> "TensorLoader":
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
            batch = self._take(order, lo, min(lo + self.batch_size, self.num_samples))
            self._batches_yielded = index + 1
            yield batch

    def _take(self, order: torch.Tensor | None, lo: int, hi: int) -> tuple[torch.Tensor, ...]:
        """Samples ``lo:hi`` of the epoch's order (``MemberLoader`` takes K orders at once)."""
        if order is None:
            return tuple(t[lo:hi] for t in self.tensors)
        idx = order[lo:hi]
        return tuple(t.index_select(0, idx) for t in self.tensors)

    def state_dict(self) -> dict[str, int]:
        return {"epoch": max(self.epoch - 1, 0), "batches_yielded": self._batches_yielded}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """The next ``iter()`` continues the saved epoch after its last yielded batch."""
        batches = int(state["batches_yielded"])
        finished = batches >= len(self)
        self.epoch = int(state["epoch"]) + finished
        self._resume_batches = 0 if finished else batches


class TensorDataModule(L.LightningDataModule):
    """Splits held as tensors in ``self.splits``; training batches are shuffled from
    ``shuffle_seed`` (the run's seed when unset), one shard per process."""

    splits: dict[str, tuple[torch.Tensor, torch.Tensor]]
    # One sample's input and target shapes (a class label: ``()``), known before ``setup``: the
    # net is tried on them before training (``convlab.models.data_fit``).
    input_shape: tuple[int, ...]
    target_shape: tuple[int, ...]

    def _loader(self, split: str, loader: type = TensorLoader, **extra) -> TensorLoader:
        hp, trainer, train = self.hparams, self.trainer, split == "train"
        return loader(
            *self.splits[split],
            batch_size=hp.batch_size if train else hp.eval_batch_size,
            shuffle=train,
            seed=torch.initial_seed() if hp.shuffle_seed is None else hp.shuffle_seed,
            rank=0 if trainer is None else trainer.global_rank,
            world_size=1 if trainer is None else trainer.world_size,
            **extra,
        )

    def train_dataloader(self) -> TensorLoader:
        return self._loader("train")

    def val_dataloader(self) -> TensorLoader:
        return self._loader("val")

    def test_dataloader(self) -> TensorLoader:
        return self._loader("test")
