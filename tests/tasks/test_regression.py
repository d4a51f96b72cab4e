"""RegressionTask: MSE loss, metrics in original units, the epoch's training scores."""

from functools import partial

import lightning as L
import pytest
import torch

from convlab.data.pairs import PairDataModule
from convlab.models.exact import ExactMax
from convlab.models.mlp import MLP
from convlab.tasks.regression import RegressionTask


def test_metrics_are_in_original_units():
    task = RegressionTask(MLP(), partial(torch.optim.Adam), target_shift=100.0, target_scale=50.0)
    output = torch.tensor([[0.0], [1.0], [-1.0]])
    target = torch.tensor([[0.1], [1.0], [-0.5]])
    task.update_metrics("test", output, target)
    scores = task.test_metrics.compute()
    assert float(scores["test/mae"]) == pytest.approx(50 * (0.1 + 0.0 + 0.5) / 3, rel=1e-5)
    assert float(scores["test/mse"]) == pytest.approx(2500 * (0.01 + 0.25) / 3, rel=1e-5)
    assert float(task.compute_loss(output, target)) == pytest.approx((0.01 + 0.25) / 3, rel=1e-5)
    assert task.to_original_units(torch.tensor([2.0])).item() == 200.0


def _fit(task, dm, epochs=1):
    trainer = L.Trainer(
        max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        log_every_n_steps=4,
    )  # fmt: skip
    trainer.fit(task, datamodule=dm)
    return trainer


def test_training_scores_cover_every_batch_of_the_epoch():
    """The epoch's train/loss and train/mae, scored at its end from the steps' kept outputs,
    are those of every training pair (lr 0: the net is the same at every step)."""
    L.seed_everything(0)
    dm = PairDataModule(n_train=64, n_val=16, n_test=16, batch_size=5, shuffle_seed=0)
    task = RegressionTask(MLP(width=8), partial(torch.optim.SGD, lr=0.0), **dm.task_facts())
    metrics = _fit(task, dm).callback_metrics
    x, y = dm.splits["train"]
    with torch.no_grad():
        output = task.net(x)
    mse = float(((output - y) ** 2).mean())
    assert float(metrics["train/loss"]) == pytest.approx(mse, rel=1e-5)
    mae = float((output - y).abs().mean()) * dm.task_facts()["target_scale"]
    assert float(metrics["train/mae"]) == pytest.approx(mae, rel=1e-5)
    # Logged where Lightning writes step metrics (_fit: every 4 trainer batches).
    assert "train/batch_loss" in metrics


@pytest.mark.parametrize("normalization", ["none", "unit", "standard"])
def test_exact_net_scores_zero_in_original_units_and_does_not_change(normalization):
    dm = PairDataModule(n_train=50, n_val=200, n_test=1000, normalization=normalization)
    task = RegressionTask(ExactMax(), partial(torch.optim.Adam, lr=1.0), **dm.task_facts())
    before = {k: v.clone() for k, v in task.state_dict().items()}
    trainer = _fit(task, dm)
    assert trainer.global_step == 50  # one (no-op) optimizer step per batch
    assert all(torch.equal(before[k], v) for k, v in task.state_dict().items())
    trainer.test(task, datamodule=dm, verbose=False)
    # float32 rounding of values up to 20000: a few thousandths at most.
    assert float(trainer.callback_metrics["test/mae"]) < 5e-3
    assert float(trainer.callback_metrics["test/mse"]) < 1e-4
