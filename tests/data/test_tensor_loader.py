"""TensorLoader: batches, per-epoch seeded order, DDP shards, resumable position."""

import torch

from convlab.data.tensor_loader import TensorLoader


def _ids(loader):
    return [b[0].tolist() for b in loader]


def test_covers_every_sample_once_per_epoch():
    x = torch.arange(10)
    loader = TensorLoader(x, x * 2, batch_size=3, shuffle=True, seed=1)
    assert len(loader) == 4
    batches = list(loader)
    assert sorted(torch.cat([b[0] for b in batches]).tolist()) == list(range(10))
    assert all(torch.equal(b[1], b[0] * 2) for b in batches)


def test_order_depends_on_seed_and_epoch_only():
    x = torch.arange(100)
    a = TensorLoader(x, batch_size=10, shuffle=True, seed=3)
    b = TensorLoader(x, batch_size=10, shuffle=True, seed=3)
    first_a, second_a = _ids(a), _ids(a)
    assert first_a == _ids(b)
    assert first_a != second_a
    assert _ids(TensorLoader(x, batch_size=10, shuffle=True, seed=4)) != first_a


def test_unshuffled_keeps_order_and_last_partial_batch():
    x = torch.arange(7)
    assert _ids(TensorLoader(x, batch_size=3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert _ids(TensorLoader(x, batch_size=3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]


def test_resume_mid_epoch_continues_the_same_sequence():
    x = torch.arange(50)
    full = TensorLoader(x, batch_size=5, shuffle=True, seed=7)
    reference = _ids(full) + _ids(full)
    interrupted = TensorLoader(x, batch_size=5, shuffle=True, seed=7)
    it = iter(interrupted)
    seen = [next(it)[0].tolist() for _ in range(3)]
    state = interrupted.state_dict()
    resumed = TensorLoader(x, batch_size=5, shuffle=True, seed=7)
    resumed.load_state_dict(state)
    assert seen + _ids(resumed) + _ids(resumed) == reference


def test_ddp_shards_are_disjoint_and_equal_sized():
    x = torch.arange(11)
    shards = [_ids(TensorLoader(x, batch_size=2, shuffle=True, seed=0, rank=r, world_size=2))
              for r in (0, 1)]  # fmt: skip
    flat = [[i for batch in s for i in batch] for s in shards]
    assert len(flat[0]) == len(flat[1]) == 5
    assert not set(flat[0]) & set(flat[1])


def test_unshuffled_ddp_shards_cover_every_sample_exactly_once():
    """Evaluation under DDP: the ranks' shards together are the split, nothing dropped or
    repeated, even when the split does not divide by the number of ranks."""
    for total, world_size in ((11, 2), (10, 3), (7, 4), (3, 4), (12, 3)):
        x = torch.arange(total)
        shards = [
            [i for batch in _ids(TensorLoader(x, batch_size=2, rank=r, world_size=world_size))
             for i in batch]
            for r in range(world_size)
        ]  # fmt: skip
        assert sorted(i for shard in shards for i in shard) == list(range(total)), shards
        assert all(shard == sorted(shard) for shard in shards)  # unshuffled: in order
        sizes = [len(TensorLoader(x, batch_size=2, rank=r, world_size=world_size))
                 for r in range(world_size)]  # fmt: skip
        assert sizes == [-(-len(shard) // 2) for shard in shards]
