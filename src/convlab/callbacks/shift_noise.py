"""Sensitivity to position and noise, measured on the test split after testing.

For every test batch: the accuracy with the images shifted by each of ``shifts`` pixels in each
of the four directions (what enters is ``fill``), the accuracy under additive Gaussian noise of
each std in ``noise`` (the same noise for every run: drawn from ``seed`` and the batch's index),
and how much the output of ``feature_layer`` changes under a shift of the smallest distance.
Into metrics.json (the ``test/`` prefix) and TensorBoard:

- ``test/acc_shift_<d>px``: accuracy at a shift of d pixels, the mean of the four directions;
- ``test/acc_noise_<std>``: accuracy under noise of that std (input units);
- ``test/feature_change_<d>px``: mean ‖f(shifted x) − f(x)‖ / mean ‖f(x)‖ of the layer's output,
  over the four directions (0: unchanged, 1: as large as the features themselves);
- ``test/shift_noise``: a figure of accuracy against the shift (per axis) and the noise.

Cost: ``1 + 4·len(shifts) + len(noise)`` forward passes over the test split (LeNet, 10,000
images: docs/study.md).
"""

import logging
import time

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from matplotlib.figure import Figure
from pydantic import NonNegativeInt, PositiveFloat, PositiveInt

from convlab.callbacks.tb_writer import figure_to_chw, tensorboard_writer
from convlab.errors import ConvlabError

log = logging.getLogger(__name__)

DIRECTIONS = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}  # (rows, cols)


def shift(images: torch.Tensor, rows: int, cols: int, fill: float = 0.0) -> torch.Tensor:
    """``images`` (..., H, W) moved ``rows`` down and ``cols`` right; vacated pixels: ``fill``."""
    h, w = images.shape[-2:]
    out = torch.full_like(images, fill)
    if abs(rows) < h and abs(cols) < w:
        out[..., max(rows, 0) : h + min(rows, 0), max(cols, 0) : w + min(cols, 0)] = images[
            ..., max(-rows, 0) : h + min(-rows, 0), max(-cols, 0) : w + min(-cols, 0)
        ]
    return out


def shift_noise_figure(clean: float, by_direction: dict[str, dict[int, float]],
                       noise: dict[float, float]) -> Figure:  # fmt: skip
    """Accuracy against the shift (signed: right/down positive), one line per axis; beside it,
    accuracy against the noise's std. 440 px wide, like the other test figures."""
    figure = Figure(figsize=(4.4, 2.6), dpi=100, layout="constrained")
    left, right = figure.subplots(1, 2, sharey=True, width_ratios=(2, 1))
    for axis, (positive, negative) in (("horizontal", ("right", "left")),
                                       ("vertical", ("down", "up"))):  # fmt: skip
        points = {0: clean, **by_direction[positive]}
        points |= {-d: a for d, a in by_direction[negative].items()}
        xs = sorted(points)
        left.plot(xs, [points[x] for x in xs], marker="o", label=axis)
    left.set_xlabel("shift (pixels)", fontsize=9)
    left.set_ylabel("test accuracy", fontsize=9)
    left.legend(fontsize=8)
    levels = sorted(noise)
    right.plot([0.0, *levels], [clean, *(noise[s] for s in levels)], marker="o", color="C2")
    right.set_xlabel("noise std", fontsize=9)
    for ax in (left, right):
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    return figure


class ShiftNoiseSensitivity(Callback):
    """Test accuracy under shifts and noise, and a feature layer's change under a shift."""

    def __init__(
        self, shifts: tuple[PositiveInt, ...] = (1, 2, 3),
        noise: tuple[PositiveFloat, ...] = (0.1, 0.3), fill: float = 0.0,
        feature_layer: str | None = "net.features", seed: NonNegativeInt = 0,
    ) -> None:  # fmt: skip
        self.shifts, self.noise = tuple(sorted(set(shifts))), tuple(sorted(set(noise)))
        self.fill, self.feature_layer, self.seed = float(fill), feature_layer, seed
        self.features: torch.Tensor | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # Said before training starts, not after it.
        if self.feature_layer:
            try:
                pl_module.get_submodule(self.feature_layer)
            except AttributeError:
                children = ", ".join(name for name, _ in pl_module.named_children())
                raise ConvlabError(
                    f"ShiftNoiseSensitivity(feature_layer={self.feature_layer}): the model has "
                    f"no such module (its top-level modules: {children}; nested ones are "
                    "dotted, e.g. net.features)"
                ) from None

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.correct: dict[str, torch.Tensor] = {}
        self.change, self.norm, self.count = 0.0, 0.0, 0
        self.seconds = 0.0

    def _capture(self, module, inputs, output) -> None:
        self.features = output.detach().flatten(1)

    def _score(
        self, key: str, pl_module: L.LightningModule, images, targets
    ) -> torch.Tensor | None:
        correct = (pl_module(images).argmax(dim=1) == targets).sum()
        self.correct[key] = self.correct.get(key, 0) + correct
        return self.features

    @torch.no_grad()
    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        started = time.perf_counter()
        images, targets = batch[0], batch[1]
        hook = (pl_module.get_submodule(self.feature_layer).register_forward_hook(self._capture)
                if self.feature_layer else None)  # fmt: skip
        try:
            clean = self._score("clean", pl_module, images, targets)
            if clean is not None:
                self.norm += clean.norm(dim=1).sum().item()
            for d in self.shifts:
                for direction, (rows, cols) in DIRECTIONS.items():
                    moved = shift(images, d * rows, d * cols, self.fill)
                    features = self._score(f"{direction}_{d}", pl_module, moved, targets)
                    if clean is not None and d == self.shifts[0]:
                        self.change += (features - clean).norm(dim=1).sum().item()
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + batch_idx)
            for std in self.noise:
                noise = torch.randn(images.shape, generator=generator).to(images)
                self._score(f"noise_{std:g}", pl_module, images + std * noise, targets)
        finally:
            if hook is not None:
                hook.remove()
        self.count += len(targets)
        self.seconds += time.perf_counter() - started

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.count:
            return
        totals = torch.tensor([self.count, self.change, self.norm], dtype=torch.float64)
        keys = list(self.correct)
        counts = torch.stack([torch.as_tensor(self.correct[k], dtype=torch.float64) for k in keys])
        # A collective: every rank takes part; each then holds the totals.
        totals = trainer.strategy.reduce(totals.to(pl_module.device), reduce_op="sum").cpu()
        counts = trainer.strategy.reduce(counts.to(pl_module.device), reduce_op="sum").cpu()
        acc = {k: float(c / totals[0]) for k, c in zip(keys, counts, strict=True)}
        by_direction = {name: {d: acc[f"{name}_{d}"] for d in self.shifts} for name in DIRECTIONS}
        values = {f"test/acc_shift_{d}px": sum(by_direction[n][d] for n in DIRECTIONS) / 4
                  for d in self.shifts}  # fmt: skip
        values |= {f"test/acc_noise_{s:g}": acc[f"noise_{s:g}"] for s in self.noise}
        if self.feature_layer and totals[2] > 0:
            # the four directions' changes, each over the clean norms
            values[f"test/feature_change_{self.shifts[0]}px"] = float(totals[1] / totals[2] / 4)
        pl_module.log_dict(values, sync_dist=False)
        log.info("shift/noise evaluation: %d passes over %d images in %.1f s",
                 len(keys), int(totals[0]), self.seconds)  # fmt: skip
        writer = tensorboard_writer(trainer)
        if writer is not None:
            noise = {s: acc[f"noise_{s:g}"] for s in self.noise}
            figure = shift_noise_figure(acc["clean"], by_direction, noise)
            writer.add_image("test/shift_noise", figure_to_chw(figure), trainer.global_step)
