"""PairDataModule: sampling, fixed split seeds, normalisation, targets, task facts."""

from types import SimpleNamespace

import lightning as L
import pytest
import torch

from convlab.data.pairs import PairDataModule, normalization_stats, uniform
from convlab.data.step_groups import StepGroups
from convlab.data.tensor_loader import TensorLoader
from convlab.errors import ConvlabError
from convlab.runner.check.validate import find_problems
from tests.conftest import compose_config


def _module(**kwargs) -> PairDataModule:
    dm = PairDataModule(**kwargs)
    dm.setup()
    return dm


def test_splits_have_the_configured_sizes_range_and_dtypes():
    dm = _module(n_train=50, n_val=20, n_test=30, low=-5.0, high=7.0, normalization="none")
    for split, n in (("train", 50), ("val", 20), ("test", 30)):
        x, y = dm.splits[split]
        assert x.shape == (n, 2) and x.dtype == torch.float32
        assert y.shape == (n, 1) and y.dtype == torch.float32
        assert bool(((x > -5.0) & (x < 7.0)).all())


def test_default_is_the_original_study_setup():
    dm = _module(normalization="none")
    x = dm.raw["train"]
    assert x.shape == (1000, 2)
    assert 0 < float(x.min()) < 100 and 19900 < float(x.max()) < 20000


def test_test_split_does_not_depend_on_the_run_seed_or_the_training_size():
    L.seed_everything(1)
    first = _module(n_train=100).splits["test"]
    L.seed_everything(2)
    second = _module(n_train=100).splits["test"]
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    other_raw = _module(n_train=300, normalization="none").raw["test"]
    assert torch.equal(_module(n_train=100, normalization="none").raw["test"], other_raw)


def test_splits_differ_from_each_other_and_follow_their_own_seed():
    dm = _module(n_train=100, n_val=100, n_test=100, normalization="none")
    assert not torch.equal(dm.raw["train"], dm.raw["val"])
    assert not torch.equal(dm.raw["val"], dm.raw["test"])
    reseeded = _module(n_train=100, n_val=100, n_test=100, normalization="none", test_seed=7)
    assert not torch.equal(reseeded.raw["test"], dm.raw["test"])
    assert torch.equal(reseeded.raw["train"], dm.raw["train"])


@pytest.mark.parametrize("normalization", ["none", "unit", "standard"])
def test_normalisation_round_trips(normalization):
    dm = _module(normalization=normalization)
    for split in ("train", "val", "test"):
        raw = dm.raw[split]
        x, y = dm.splits[split]
        torch.testing.assert_close(dm.denormalize(x), raw, rtol=0, atol=0.01)
        torch.testing.assert_close(
            dm.denormalize(y), raw.max(1, keepdim=True).values, rtol=0, atol=0.01
        )


def test_statistics_come_from_the_training_split_only():
    unit = _module(normalization="unit")
    x_train = unit.splits["train"][0]
    assert float(x_train.min()) == pytest.approx(0.0, abs=1e-6)
    assert float(x_train.max()) == pytest.approx(1.0, abs=1e-6)
    assert float(unit.splits["test"][0].max()) != pytest.approx(1.0, abs=1e-6)
    standard = _module(normalization="standard")
    x_train = standard.splits["train"][0].double()
    assert float(x_train.mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(x_train.std()) == pytest.approx(1.0, abs=1e-5)
    assert float(standard.splits["test"][0].double().mean()) != pytest.approx(0.0, abs=1e-5)
    # Moving the test pairs does not move the statistics.
    assert _module(normalization="standard", test_seed=9).shift == standard.shift


@pytest.mark.parametrize("normalization", ["none", "unit", "standard"])
def test_regression_target_is_exactly_the_max_of_the_normalised_inputs(normalization):
    x, y = _module(normalization=normalization).splits["test"]
    assert torch.equal(y, x.max(dim=1, keepdim=True).values)


def test_classification_target_is_the_index_of_the_larger():
    dm = _module(target="classification", normalization="none")
    _, y = dm.splits["train"]
    assert y.dtype == torch.int64 and y.shape == (1000,)
    assert torch.equal(y, (dm.raw["train"][:, 1] > dm.raw["train"][:, 0]).long())
    assert 0.4 < float(y.float().mean()) < 0.6


def test_task_facts():
    regression = PairDataModule(normalization="standard")  # facts are ready before setup
    facts = regression.task_facts()
    assert set(facts) == {"target_shift", "target_scale", "steps_per_batch"}
    assert facts["target_shift"] == pytest.approx(10000, rel=0.05)
    assert facts["target_scale"] == pytest.approx(20000 / 12**0.5, rel=0.05)
    assert PairDataModule(normalization="none", steps_per_batch=5).task_facts() == {
        "target_shift": 0.0, "target_scale": 1.0, "steps_per_batch": 5,
    }  # fmt: skip
    classification = PairDataModule(target="classification").task_facts()
    assert classification == {"num_classes": 2, "class_names": ["a", "b"]}


@pytest.mark.parametrize(("batch_size", "batches"), [(1, 1000), (16, 63), (1000, 1)])
def test_loaders_batch_from_one_up_to_the_whole_set(batch_size, batches):
    dm = _module(batch_size=batch_size)
    loader = dm.train_dataloader()
    assert len(loader) == batches
    seen = torch.cat([x for x, _ in loader])
    assert sorted(seen[:, 0].tolist()) == sorted(dm.splits["train"][0][:, 0].tolist())
    assert len(dm.test_dataloader()) == 1


@pytest.mark.parametrize(
    ("settings", "problem"),
    [(["data.normalization=log"], "data.normalization=log: expected one of none, unit, standard"),
     (["data.target=rank"], "data.target=rank: expected one of regression, classification"),
     (["data.low=5.0", "data.high=5.0"], "data.low must be below data.high (got low=5.0, high"),
     (["data.n_train=0"], "data.n_train=0: must be a positive integer"),
     (["data.batch_size=0"], "data.batch_size=0: must be a positive integer")],
)  # fmt: skip
def test_bad_arguments_are_one_clear_error(settings, problem, tmp_path):
    (found,) = find_problems(compose_config(["experiment=max_regression", *settings], tmp_path))
    assert found.startswith(problem)


# --- exact draws, messages, defaults and loaders ---------------------------------------------


def test_pairs_are_float64_draws_scaled_to_the_range():
    u = torch.rand(5, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    assert torch.equal(uniform((5, 2), 10.0, 30.0, seed=4), (10.0 + 20.0 * u).to(torch.float32))


def test_normalization_messages():
    with pytest.raises(ConvlabError, match=r"normalization='z': choose one of none, unit, st"):
        normalization_stats(torch.ones(3, 2), "z")
    with pytest.raises(ConvlabError, match=r"^data: the training pairs are all equal, so they"):
        normalization_stats(torch.full((3, 2), 5.0), "unit")
    # A spread below 1 is still a spread.
    assert normalization_stats(torch.tensor([[0.0, 0.5]]), "unit") == (0.0, 0.5)
    with pytest.raises(ConvlabError, match=r"batches\); use 1 for classification$"):
        PairDataModule(target="classification", steps_per_batch=2)


def test_defaults_are_the_original_studys():
    data = PairDataModule()
    assert dict(data.hparams) == {
        "n_train": 1000, "n_val": 1000, "n_test": 1000, "low": 0.0, "high": 20000.0,
        "normalization": "standard", "target": "regression", "batch_size": 1,
        "eval_batch_size": 1000, "steps_per_batch": 1, "train_seed": 0, "val_seed": 1,
        "test_seed": 2, "shuffle_seed": None,
    }  # fmt: skip
    assert (data.shift, data.scale) == (0.0, 1.0)  # the identity until setup


def test_ties_are_class_a():
    data = PairDataModule(target="classification", normalization="none")
    raw = torch.tensor([[1.0, 1.0], [1.0, 2.0], [2.0, 1.0]])
    assert data._target(raw).tolist() == [0, 1, 0]


def test_loaders_batch_sizes_order_seed_and_groups():
    data = PairDataModule(n_train=40, n_val=30, n_test=20, batch_size=4, eval_batch_size=16,
                          steps_per_batch=2, shuffle_seed=5)  # fmt: skip
    data.setup()
    train, val, test = data.train_dataloader(), data.val_dataloader(), data.test_dataloader()
    assert isinstance(train, StepGroups) and train.steps == 2 and train.shuffle
    assert train.seed == 5
    assert (val.batch_size, test.batch_size, val.shuffle, test.shuffle) == (16, 16, False, False)
    assert torch.equal(next(iter(test))[0], data.splits["test"][0][:16])
    assert (val.seed, val.rank, val.world_size) == (5, 0, 1)
    torch.manual_seed(31)
    plain = PairDataModule(n_train=8, n_val=4, n_test=4)
    plain.setup()
    assert isinstance(plain.train_dataloader(), TensorLoader)
    assert plain.train_dataloader().seed == 31  # the run's seed when none is given
    data.trainer = SimpleNamespace(global_rank=1, world_size=2)
    shard = data.val_dataloader()
    assert (shard.rank, shard.world_size) == (1, 2)
    assert torch.equal(next(iter(shard))[0], data.splits["val"][0][1::2][:16])
