"""A grid of the test images the model gets most confidently wrong, with true/predicted labels."""

import math

import lightning as L
import torch
from matplotlib.figure import Figure

from convlab.callbacks.tb_writer import TestPredictionCallback, figure_to_chw, tensorboard_writer


def misclassified_figure(
    images: torch.Tensor, targets: list[int], predictions: list[int],
    confidences: list[float], labels: list[str], columns: int = 4,
) -> Figure:  # fmt: skip
    """Tiles titled ``true`` over ``→ predicted p``, 110 px wide with 9 pt titles: four columns
    stay legible at TensorBoard's card width (335-500 px)."""
    n = images.shape[0]
    rows = max(1, math.ceil(n / columns))
    figure = Figure(figsize=(1.1 * columns, 1.45 * rows), dpi=100, layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).flatten()
    for ax in axes:
        ax.axis("off")
    for index in range(n):
        image = images[index].float()
        if image.shape[0] == 1:
            axes[index].imshow(image[0].numpy(), cmap="gray")
        else:  # RGB: matplotlib wants (h, w, 3) in [0, 1]
            image = (image - image.min()) / (image.max() - image.min()).clamp_min(1e-12)
            axes[index].imshow(image.permute(1, 2, 0).numpy())
        title = f"{labels[targets[index]]}\n→ {labels[predictions[index]]} {confidences[index]:.2f}"
        axes[index].set_title(title, fontsize=9)
    return figure


class Misclassified(TestPredictionCallback):
    """``test/misclassified``: the ``max_images`` most confident wrong test predictions (the
    most telling mistakes); under DDP, those of rank 0's shard."""

    def __init__(self, max_images: int = 16, columns: int = 4) -> None:
        if max_images < 1:
            raise ValueError(f"max_images must be >= 1, got {max_images}")
        self.max_images, self.columns = max_images, columns
        self.reset()

    def reset(self) -> None:
        self.images: torch.Tensor | None = None
        self.targets = self.predictions = self.confidences = torch.empty(0)
        self.num_classes = 0

    def collect(self, images, targets, logits) -> None:
        self.num_classes = logits.shape[1]
        confidence, prediction = logits.float().softmax(dim=1).max(dim=1)
        wrong = prediction != targets
        if not bool(wrong.any()):
            return
        found = [t[wrong].detach().cpu() for t in (images, targets, prediction, confidence)]
        if self.images is not None:  # a running top-k: memory stays at max_images
            kept = (self.images, self.targets, self.predictions, self.confidences)
            found = [torch.cat(pair) for pair in zip(kept, found, strict=True)]
        keep = found[3].argsort(descending=True, stable=True)[: self.max_images]
        self.images, self.targets, self.predictions, self.confidences = (t[keep] for t in found)

    def render(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None or self.images is None:
            return
        figure = misclassified_figure(
            self.images, self.targets.tolist(), self.predictions.tolist(),
            self.confidences.tolist(), self.labels(pl_module, self.num_classes), self.columns,
        )  # fmt: skip
        writer.add_image("test/misclassified", figure_to_chw(figure), trainer.global_step)
