"""A stacked run's per-member scores over an epoch of several batches."""

import pytest
import torch

from convlab.members.scores import MemberSums


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_sums_over_uneven_batches_equal_those_over_their_union(kind):
    generator = torch.Generator().manual_seed(0)
    if kind == "regression":
        output, target = torch.randn(2, 3, 10, 1, generator=generator)
    else:
        output = torch.randn(3, 10, 4, generator=generator)
        target = torch.randint(4, (3, 10), generator=generator)
    whole, parts = MemberSums(kind, scale=2.0), MemberSums(kind, scale=2.0)
    whole.update(output, target)
    for batch in (slice(0, 3), slice(3, 10)):  # 3 and 7 pairs: each weighted by its size
        parts.update(output[:, batch], target[:, batch])
    expected = whole.compute()
    assert set(expected) == set(whole.names)
    for name, value in parts.compute().items():
        torch.testing.assert_close(value, expected[name])
    parts.reset()
    assert parts.compute() == {} and parts.count == 0
