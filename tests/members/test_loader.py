"""MemberLoader: member k's batch at every step is the one its single run's loader yields."""

from __future__ import annotations

import torch

from convlab.data.step_groups import StepGroups
from convlab.data.tensor_loader import TensorLoader
from convlab.members.loader import MemberLoader

X = torch.arange(46, dtype=torch.float32).view(23, 2)
Y = torch.arange(23)
SEEDS = [5, 6, 9]


def _epochs(loader, epochs=3):
    out = []
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        out.append(list(loader))
    return out


def test_ungrouped_batches_are_each_seeds_batches():
    stacked = _epochs(MemberLoader(X, Y, seeds=SEEDS, batch_size=4, shuffle=True))
    for k, seed in enumerate(SEEDS):
        single = _epochs(TensorLoader(X, Y, batch_size=4, shuffle=True, seed=seed))
        for ours, theirs in zip(stacked, single, strict=True):
            assert len(ours) == len(theirs)
            for (x, y), (tx, ty) in zip(ours, theirs, strict=True):
                assert torch.equal(x[k], tx) and torch.equal(y[k], ty)
    assert not torch.equal(stacked[0][0][0][0], stacked[0][0][0][1])  # orders differ


def test_grouped_batches_are_each_seeds_step_groups():
    stacked = _epochs(MemberLoader(X, Y, seeds=SEEDS, batch_size=2, steps=3, shuffle=True))
    for k, seed in enumerate(SEEDS):
        single = _epochs(StepGroups(X, Y, batch_size=2, steps=3, shuffle=True, seed=seed))
        for ours, theirs in zip(stacked, single, strict=True):
            for group, their_group in zip(ours, theirs, strict=True):
                assert len(group) == len(their_group)
                for (x, y), (tx, ty) in zip(group, their_group, strict=True):
                    assert torch.equal(x[k], tx) and torch.equal(y[k], ty)


def test_a_resumed_loader_continues_the_epoch():
    loader = MemberLoader(X, Y, seeds=SEEDS, batch_size=4, shuffle=True)
    loader.set_epoch(1)
    batches = iter(loader)
    first = [next(batches) for _ in range(2)]
    state = loader.state_dict()
    rest = list(batches)
    again = MemberLoader(X, Y, seeds=SEEDS, batch_size=4, shuffle=True)
    again.load_state_dict(state)
    again.set_epoch(1)
    resumed = list(again)
    assert len(first) + len(resumed) == len(loader)
    for (x, _), (rx, _) in zip(rest, resumed, strict=True):
        assert torch.equal(x, rx)
