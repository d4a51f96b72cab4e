"""The test split's confusion matrix as a TensorBoard image."""

import lightning as L
import torch
from matplotlib.figure import Figure
from torchmetrics.functional.classification import multiclass_confusion_matrix

from convlab.callbacks.tb_writer import TestPredictionCallback, figure_to_chw, tensorboard_writer


def confusion_figure(counts: torch.Tensor, labels: list[str]) -> Figure:
    """Colour is the row's share (recall), so rare classes read as well as frequent ones. 440 px
    wide with 9-10 pt text: TensorBoard shrinks a larger image to its card (335-500 px)."""
    counts = counts.cpu()
    shares = counts.float() / counts.sum(dim=1, keepdim=True).clamp_min(1)
    accuracy = counts.diag().sum().item() / max(counts.sum().item(), 1)
    n = len(labels)
    digits = len(str(int(counts.max()))) if counts.numel() else 1
    cell_font = (9 if digits < 4 else 7) if n <= 10 else max(5, 90 // n)
    figure = Figure(figsize=(4.4, 4.4), dpi=100, layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(shares.numpy(), cmap="Blues", vmin=0, vmax=1)
    for row in range(n):
        for col in range(n):
            colour = "white" if shares[row, col] > 0.5 else "black"
            ax.text(col, row, int(counts[row, col]), ha="center", va="center",
                    fontsize=cell_font, color=colour)  # fmt: skip
    ax.set_xticks(range(n), labels, rotation=45, ha="right", rotation_mode="anchor", fontsize=9)
    ax.set_yticks(range(n), labels, fontsize=9)
    ax.set_xlabel("predicted", fontsize=10)
    ax.set_ylabel("true", fontsize=10)
    ax.set_title(f"test accuracy {accuracy:.3f}", fontsize=10)
    colorbar = figure.colorbar(image, ax=ax, shrink=0.8, pad=0.02)
    colorbar.set_label("share of the true class", fontsize=9)
    colorbar.ax.tick_params(labelsize=8)
    return figure


def confusion_markdown(counts: torch.Tensor, labels: list[str]) -> str:
    """For TensorBoard's Text tab, to read exact numbers."""
    header = "| true ↓ predicted → | " + " | ".join(labels) + " |"
    lines = [header, "|---" * (len(labels) + 1) + "|"]
    for label, row in zip(labels, counts.tolist(), strict=True):
        lines.append(f"| {label} | " + " | ".join(str(count) for count in row) + " |")
    return "\n".join(lines)


class ConfusionMatrix(TestPredictionCallback):
    """``test/confusion_matrix`` (image and Markdown table) of the whole test split, all ranks."""

    counts: torch.Tensor | None = None

    def reset(self) -> None:
        self.counts = None

    def collect(self, images, targets, logits) -> None:
        # counts[true, predicted]
        counts = multiclass_confusion_matrix(logits.argmax(dim=1), targets, logits.shape[1])
        self.counts = counts if self.counts is None else self.counts + counts

    def render(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.counts is None:
            return
        # A collective: every rank takes part before rank 0 alone draws.
        counts = trainer.strategy.reduce(self.counts, reduce_op="sum")
        writer = tensorboard_writer(trainer)
        if writer is None:
            return
        labels = self.labels(pl_module, len(counts))
        step, tag = trainer.global_step, "test/confusion_matrix"
        writer.add_image(tag, figure_to_chw(confusion_figure(counts, labels)), step)
        writer.add_text(tag, confusion_markdown(counts, labels), step)
