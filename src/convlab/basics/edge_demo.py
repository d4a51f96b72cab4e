"""Edge detection with a hand-made kernel (D2L §6.2.3), drawn as one small figure."""

import torch
from matplotlib.figure import Figure

from convlab.basics.corr2d import corr2d

EDGE_KERNEL = torch.tensor([[1.0, -1.0]])


def edge_responses(
    image: torch.Tensor, kernel: torch.Tensor = EDGE_KERNEL
) -> dict[str, torch.Tensor]:
    """The image, its vertical edges (``[1, -1]``: a pixel differs from its right neighbour)
    and, with the kernel transposed, its horizontal ones."""
    return {
        "input": image,
        "K = [1, -1]": corr2d(image, kernel),
        "K transposed": corr2d(image, kernel.T),
    }


def edge_figure(images: dict[str, torch.Tensor], kernel: torch.Tensor = EDGE_KERNEL) -> Figure:
    """One row per named image: the input (grey), then both responses (red +, blue −)."""
    rows = len(images)
    figure = Figure(figsize=(8, 2.6 * rows), layout="constrained")
    axes = figure.subplots(rows, 3, squeeze=False)
    for row, (name, image) in zip(axes, images.items(), strict=True):
        for ax, (title, response) in zip(
            row, edge_responses(image.float(), kernel).items(), strict=True
        ):
            panel = response.detach().cpu().numpy()  # matplotlib wants arrays, not tensors
            if title == "input":
                ax.imshow(panel, cmap="gray", vmin=float(panel.min()), vmax=float(panel.max()))
                ax.set_title(f"{name} {tuple(panel.shape)}", fontsize=9)
            else:
                limit = max(float(abs(panel).max()), 1e-8)
                ax.imshow(panel, cmap="RdBu_r", vmin=-limit, vmax=limit)
                ax.set_title(f"{title} {tuple(panel.shape)}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    return figure
