"""The shift/noise evaluation on hand-made nets: one exactly shift-invariant, one not."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from convlab.callbacks.shift_noise import ShiftNoiseSensitivity, shift, shift_noise_figure
from convlab.callbacks.tb_writer import figure_to_chw
from convlab.errors import ConvlabError


class Scored(L.LightningModule):
    """Just enough of a task: ``net``, a forward, and ``test/acc``."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test/acc", (self(x).argmax(1) == y).float().mean())


def invariant_net() -> nn.Module:
    """A per-pixel function (1x1 conv, no bias, ReLU: 0 stays 0) then global average pooling:
    moving the content inside a zero border changes nothing."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 1, bias=False), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 4))  # fmt: skip


def positional_net() -> nn.Module:
    """A weight per pixel: where the content is matters."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12 * 12, 10))


def evaluate(net: nn.Module, callback: ShiftNoiseSensitivity) -> dict[str, float]:
    """``trainer.test`` with the callback on 200 images whose content sits inside a 3-pixel
    zero border, labelled by the net itself (clean accuracy 1)."""
    generator = torch.Generator().manual_seed(1)
    images = torch.zeros(200, 1, 12, 12)
    images[..., 3:9, 3:9] = torch.rand(200, 1, 6, 6, generator=generator)
    with torch.no_grad():
        labels = net(images).argmax(1)
    trainer = L.Trainer(accelerator="cpu", logger=False, callbacks=[callback],
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    loader = DataLoader(TensorDataset(images, labels), batch_size=64)
    trainer.test(Scored(net), dataloaders=loader, verbose=False)
    return {k: float(v) for k, v in trainer.callback_metrics.items()}


def test_shift_moves_content_and_fills_the_vacated_pixels():
    image = torch.arange(1.0, 10.0).reshape(1, 3, 3)
    assert shift(image, 0, 1).tolist() == [[[0, 1, 2], [0, 4, 5], [0, 7, 8]]]
    assert shift(image, -1, 0, fill=-1).tolist() == [[[4, 5, 6], [7, 8, 9], [-1, -1, -1]]]
    assert shift(image, 3, 0).eq(0).all()  # moved out entirely


def test_a_shift_invariant_net_scores_the_same_on_shifted_data():
    metrics = evaluate(invariant_net(), ShiftNoiseSensitivity(feature_layer="net.2"))
    assert metrics["test/acc"] == 1.0
    for d in (1, 2, 3):
        assert metrics[f"test/acc_shift_{d}px"] == 1.0
    assert metrics["test/feature_change_1px"] < 1e-6  # the pooled features do not move


def test_a_positional_net_does_not():
    metrics = evaluate(positional_net(), ShiftNoiseSensitivity(feature_layer="net.1"))
    assert metrics["test/acc"] == 1.0
    shifted = [metrics[f"test/acc_shift_{d}px"] for d in (1, 2, 3)]
    assert max(shifted) < 0.9
    assert metrics["test/feature_change_1px"] > 0.1
    assert 1.0 > metrics["test/acc_noise_0.1"] > metrics["test/acc_noise_0.3"]


def test_the_noise_is_the_same_for_every_run():
    def noisy(seed: int) -> float:
        callback = ShiftNoiseSensitivity(noise=(0.5,), seed=seed, feature_layer=None)
        return evaluate(positional_net(), callback)["test/acc_noise_0.5"]

    assert noisy(0) == noisy(0) != noisy(1)


def test_an_unknown_feature_layer_is_one_line_before_any_work():
    with pytest.raises(ConvlabError, match=r"feature_layer=net\.nope\): the model has no such "
                       r"module \(its top-level modules: net;"):  # fmt: skip
        evaluate(invariant_net(), ShiftNoiseSensitivity(feature_layer="net.nope"))


def test_the_figure_renders():
    by_direction = {name: {1: 0.8, 2: 0.6} for name in ("right", "left", "down", "up")}
    image = figure_to_chw(shift_noise_figure(0.9, by_direction, {0.1: 0.85, 0.3: 0.5}))
    assert image.shape[0] == 3 and 400 <= image.shape[2] <= 480
