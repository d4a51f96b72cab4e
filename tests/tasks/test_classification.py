"""ClassificationTask: the training epoch's scores cover every batch, kept and scored at its end."""

from functools import partial

import lightning as L
import pytest
import torch

from convlab.data.pairs import PairDataModule
from convlab.models.mlp import MLP
from convlab.tasks.classification import ClassificationTask


def test_training_scores_cover_every_batch_of_the_epoch():
    L.seed_everything(0)
    dm = PairDataModule(n_train=70, n_val=16, n_test=16, batch_size=8, target="classification")
    net = MLP(width=8, out_features=2)
    task = ClassificationTask(net, partial(torch.optim.SGD, lr=0.0), num_classes=2)
    trainer = L.Trainer(
        max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        log_every_n_steps=3,
    )  # fmt: skip
    trainer.fit(task, datamodule=dm)
    x, y = dm.splits["train"]
    with torch.no_grad():  # lr 0: the net every step saw
        output = net(x)
    metrics = trainer.callback_metrics
    accuracy = float((output.argmax(1) == y).float().mean())
    assert float(metrics["train/acc"]) == pytest.approx(accuracy, abs=1e-6)
    loss = float(torch.nn.functional.cross_entropy(output, y))
    assert float(metrics["train/loss"]) == pytest.approx(loss, rel=1e-5)
    assert 0.0 < accuracy < 1.0  # the scores are not trivially equal
    assert "train/batch_loss" in metrics
