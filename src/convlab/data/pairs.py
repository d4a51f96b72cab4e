"""Synthetic pairs (a, b) for learning max(a, b): regress the value or classify the larger.

Each split has its own fixed generator, so the test set never changes with the run's seed.
Normalisation is one increasing affine map shared by a, b and the target (statistics of the
training split), so ``max(a', b') = max(a, b)'`` and errors convert back by times ``scale``.
"""

from typing import Literal, get_args

import torch
from pydantic import PositiveInt

from convlab.data.step_groups import StepGroups
from convlab.data.tensor_loader import TensorDataModule
from convlab.errors import ConvlabError

Normalization = Literal["none", "unit", "standard"]
Target = Literal["regression", "classification"]
# Classification labels: 0 when a is the larger (ties included), 1 when b is.
CLASS_NAMES = ("a", "b")
SPLITS = ("train", "val", "test")


def uniform(shape: tuple[int, ...], low: float, high: float, seed: int) -> torch.Tensor:
    """float64 draws of the split's own generator, scaled to (``low``, ``high``), as float32."""
    u = torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (low + (high - low) * u).to(torch.float32)


def split_draws(hp) -> dict[str, tuple[int, int]]:
    """Per split: its size ``n_<split>`` and the seed of its generator ``<split>_seed``."""
    return {split: (hp[f"n_{split}"], hp[f"{split}_seed"]) for split in SPLITS}


def normalization_stats(x: torch.Tensor, normalization: str) -> tuple[float, float]:
    """``(shift, scale)`` of the affine map, pooled over both columns (a and b are exchangeable;
    per-column statistics would break ``max(a', b') = max(a, b)'``)."""
    if normalization == "none":
        return 0.0, 1.0
    values = x.double()
    if normalization == "unit":  # the training pairs span [0, 1]
        shift, scale = float(values.min()), float(values.max() - values.min())
    elif normalization == "standard":  # zero mean, unit variance
        shift, scale = float(values.mean()), float(values.std())
    else:
        choices = ", ".join(get_args(Normalization))
        raise ConvlabError(f"data.normalization={normalization!r}: choose one of {choices}")
    if not scale > 0:
        raise ConvlabError("data: the training pairs are all equal, so they cannot be normalised")
    return shift, scale


class PairDataModule(TensorDataModule):
    """Inputs (N, 2) float32; targets max(a, b) (N, 1) normalised (``regression``) or the index
    of the larger (N,) int64 (``classification``). ``steps_per_batch > 1``: ``StepGroups``."""

    input_shape = (2,)

    def __init__(
        self,
        n_train: PositiveInt = 1000,
        n_val: PositiveInt = 1000,
        n_test: PositiveInt = 1000,
        low: float = 0.0,
        high: float = 20000.0,
        normalization: Normalization = "standard",
        target: Target = "regression",
        batch_size: PositiveInt = 1,
        eval_batch_size: PositiveInt = 1000,
        steps_per_batch: PositiveInt = 1,
        train_seed: int = 0,
        val_seed: int = 1,
        test_seed: int = 2,
        shuffle_seed: int | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if steps_per_batch > 1 and target != "regression":
            raise ConvlabError(
                f"data.steps_per_batch={steps_per_batch} needs data.target=regression "
                "(task=regression takes the grouped batches); use 1 for classification"
            )
        self.target_shape = () if target == "classification" else (1,)
        self.shift, self.scale = 0.0, 1.0
        self.raw: dict[str, torch.Tensor] = {}
        self.splits = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        hp = self.hparams
        draws = split_draws(hp)
        self.raw = {s: uniform((n, 2), hp.low, hp.high, seed) for s, (n, seed) in draws.items()}
        self.shift, self.scale = normalization_stats(self.raw["train"], hp.normalization)
        self.splits = {s: (self.normalize(x), self._target(x)) for s, x in self.raw.items()}

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) / self.scale

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift

    def _target(self, raw: torch.Tensor) -> torch.Tensor:
        if self.hparams.target == "classification":
            return (raw[:, 1] > raw[:, 0]).long()
        # The max of the raw pair is one of the raw inputs, normalised by the same map.
        return self.normalize(raw.max(dim=1, keepdim=True).values)

    def task_facts(self) -> dict:
        self.setup()
        if self.hparams.target == "classification":
            return {"num_classes": len(CLASS_NAMES), "class_names": list(CLASS_NAMES)}
        return {
            "target_shift": self.shift,
            "target_scale": self.scale,
            "steps_per_batch": self.hparams.steps_per_batch,
        }

    def train_dataloader(self):
        steps = self.hparams.steps_per_batch
        return (
            self._loader("train", StepGroups, steps=steps) if steps > 1 else self._loader("train")
        )
