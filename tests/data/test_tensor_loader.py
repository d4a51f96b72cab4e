"""TensorLoader: batches, per-epoch seeded order, DDP shards, resumable position."""

import pytest
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


def test_bad_arguments_are_refused():
    x = torch.arange(4)
    with pytest.raises(ValueError, match=r"^TensorLoader needs at least one tensor$"):
        TensorLoader(batch_size=2)
    with pytest.raises(ValueError, match=r"^all tensors must have the same first dimension$"):
        TensorLoader(x, torch.arange(5), batch_size=2)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        TensorLoader(x, batch_size=0)
    assert _ids(TensorLoader(x, batch_size=1)) == [[0], [1], [2], [3]]


def test_defaults_are_one_unshuffled_process():
    loader = TensorLoader(torch.arange(5), batch_size=2)
    assert (loader.shuffle, loader.seed, loader.drop_last) == (False, 0, False)
    assert (loader.rank, loader.world_size, loader.epoch) == (0, 1, 0)
    assert loader.num_samples == 5 and len(loader) == 3


def test_epoch_order_is_a_permutation_seeded_by_seed_and_epoch():
    """The order of epoch e is randperm seeded with seed * 1_000_003 + e: fixed, so a run's data
    order is the same in every version of the code."""
    x = torch.arange(30)
    loader = TensorLoader(x, batch_size=30, shuffle=True, seed=5)
    for epoch in (0, 1, 2):
        expected = torch.randperm(
            30, generator=torch.Generator().manual_seed(5 * 1_000_003 + epoch)
        )
        assert _ids(loader) == [expected.tolist()]
    big = TensorLoader(x, batch_size=30, shuffle=True, seed=2**62)
    expected = torch.randperm(
        30, generator=torch.Generator().manual_seed(2**62 * 1_000_003 % (2**63 - 1))
    )
    assert _ids(big) == [expected.tolist()]


def test_set_epoch_chooses_the_order_and_the_sampler_is_the_loader():
    x = torch.arange(20)
    reference = TensorLoader(x, batch_size=6, shuffle=True, seed=9)
    orders = [_ids(reference) for _ in range(4)]
    loader = TensorLoader(x, batch_size=6, shuffle=True, seed=9)
    assert loader.sampler is loader and loader.batch_sampler is None
    loader.sampler.set_epoch(3)
    assert loader.epoch == 3
    assert _ids(loader) == orders[3]
    loader.set_epoch(1)
    assert _ids(loader) == orders[1]


def test_last_partial_batch_of_a_shuffled_epoch_and_drop_last():
    x = torch.arange(7)
    kept = [len(b) for b in _ids(TensorLoader(x, batch_size=3, shuffle=True, seed=0))]
    assert kept == [3, 3, 1]
    dropped = TensorLoader(x, batch_size=3, shuffle=True, seed=0, drop_last=True)
    assert len(dropped) == 2 and [len(b) for b in _ids(dropped)] == [3, 3]
    assert len(TensorLoader(torch.arange(6), batch_size=3, drop_last=True)) == 2


def test_shuffled_ddp_shards_take_every_world_size_th_sample_of_the_order():
    x = torch.arange(11)
    order = _ids(TensorLoader(x, batch_size=11, shuffle=True, seed=4))[0]
    for rank in (0, 1, 2):
        shard = TensorLoader(x, batch_size=2, shuffle=True, seed=4, rank=rank, world_size=3)
        assert shard.num_samples == 3 and len(shard) == 2
        assert [i for b in _ids(shard) for i in b] == order[rank::3][:3]


def test_unshuffled_ddp_shard_sizes():
    x = torch.arange(10)
    sizes = [TensorLoader(x, batch_size=4, rank=r, world_size=3).num_samples for r in range(3)]
    assert sizes == [4, 3, 3]
    assert [i for b in _ids(TensorLoader(x, batch_size=4, rank=1, world_size=3)) for i in b] == [
        1, 4, 7,
    ]  # fmt: skip


def test_state_dict_names_the_epoch_being_yielded_and_the_position():
    x = torch.arange(10)
    loader = TensorLoader(x, batch_size=3, shuffle=True, seed=2)
    assert loader.state_dict() == {"epoch": 0, "batches_yielded": 0}
    it = iter(loader)
    next(it)
    next(it)
    assert loader.state_dict() == {"epoch": 0, "batches_yielded": 2}
    list(it)
    assert loader.state_dict() == {"epoch": 0, "batches_yielded": 4}
    it = iter(loader)
    next(it)
    assert loader.state_dict() == {"epoch": 1, "batches_yielded": 1}


def test_an_epoch_without_batches_has_yielded_none():
    loader = TensorLoader(torch.arange(2), batch_size=3, drop_last=True)
    assert list(loader) == []
    assert loader.state_dict() == {"epoch": 0, "batches_yielded": 0}


def test_resume_from_the_end_of_an_epoch_starts_the_next_one_whole():
    x = torch.arange(10)
    reference = TensorLoader(x, batch_size=3, shuffle=True, seed=2)
    orders = [_ids(reference) for _ in range(3)]
    resumed = TensorLoader(x, batch_size=3, shuffle=True, seed=2)
    resumed.load_state_dict({"epoch": 1, "batches_yielded": 4})
    assert resumed.epoch == 2
    assert _ids(resumed) == orders[2]
    midway = TensorLoader(x, batch_size=3, shuffle=True, seed=2)
    midway.load_state_dict({"epoch": 1, "batches_yielded": 3})
    assert midway.epoch == 1
    assert _ids(midway) == orders[1][3:]
    assert midway.state_dict() == {"epoch": 1, "batches_yielded": 4}
    assert _ids(midway) == orders[2]  # the skipped position is used once only
