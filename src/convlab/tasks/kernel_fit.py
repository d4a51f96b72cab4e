"""Learning a kernel from an image and its filtered version (D2L §6.2.4)."""

import itertools
import logging

import torch
import torchmetrics
from torch import nn

from convlab.callbacks.tb_writer import tensorboard_writer
from convlab.errors import ConvlabError
from convlab.tasks.supervised import SupervisedTask

log = logging.getLogger(__name__)

# Up to this many entries, each gets a TensorBoard curve; larger kernels only a final histogram.
MAX_KERNEL_CURVES = 16


class KernelFitTask(SupervisedTask):
    """Fit a convolution's ``weight`` so that ``net(X)`` reproduces ``Y``. Logs ``{split}/loss``
    (D2L's sum of squares over the batch), ``{split}/mse`` (per pixel), each kernel entry per
    step (``weights/kernel_<index>``: a group TensorBoard sorts after the splits') and the learned
    kernel at the end (console, TensorBoard text, ``metrics.json``)."""

    def __init__(self, net: nn.Module, optimizer, scheduler=None) -> None:
        if not isinstance(getattr(net, "weight", None), torch.Tensor):
            raise ConvlabError(f"task kernel_fit needs a model with a weight, got {type(net)}")
        super().__init__(net=net, optimizer=optimizer, scheduler=scheduler)
        self.initial_kernel: torch.Tensor | None = None

    @property
    def kernel(self) -> torch.Tensor:
        """``(kh, kw)`` for one input and one output channel."""
        weight = self.net.weight.detach().cpu()
        return weight[0, 0] if weight.shape[:2] == (1, 1) else weight

    def metrics(self) -> dict[str, torchmetrics.Metric]:
        return {"mse": torchmetrics.MeanSquaredError()}

    def compute_loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.shape != target.shape:
            raise ConvlabError(
                f"model output {tuple(output.shape)} and target {tuple(target.shape)} differ: "
                "the model's kernel_size must match the shape of data.target_kernel"
            )
        return ((output - target) ** 2).sum()

    def on_train_start(self) -> None:
        # Where this seed started (nn.Conv2d's random init), or the resumed checkpoint's kernel.
        self.initial_kernel = self.kernel.clone()

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        super().on_train_batch_end(outputs, batch, batch_idx)
        kernel = self.kernel
        if kernel.numel() <= MAX_KERNEL_CURVES:
            # One curve per entry, named by its position: weights/kernel_0_1 is K[0, 1].
            curves = {
                "weights/kernel_" + "_".join(map(str, index)): float(kernel[index])
                for index in itertools.product(*map(range, kernel.shape))
            }
            self.log_dict(curves, on_step=True, on_epoch=False)

    def on_train_end(self) -> None:
        text = _format_kernel(self.kernel)
        if self.trainer.is_global_zero:
            start = "" if self.initial_kernel is None else _format_kernel(self.initial_kernel)
            log.info("learned kernel: %s (started from %s)", text, start)
        writer = tensorboard_writer(self.trainer)
        if writer is not None:
            writer.add_text("kernel", text, global_step=self.global_step)
            writer.add_histogram("kernel", self.kernel, global_step=self.global_step)

    def record_extras(self) -> dict:
        record = {"kernel": self.kernel.flatten().tolist(), "kernel_shape": list(self.kernel.shape)}
        if self.initial_kernel is not None:
            record["initial_kernel"] = self.initial_kernel.flatten().tolist()
        return record


def _format_kernel(kernel: torch.Tensor) -> str:
    return str(
        [[round(v, 4) for v in row] for row in kernel.reshape(-1, kernel.shape[-1]).tolist()]
    )
