"""LeNet epoch: the full pipeline (train.py's code path) against a plain PyTorch loop.

Same tensors, model, batch size and optimizer on every side; the tuned loop is D2L's loop with
the pipeline's ``channels_last``, so pipeline / tuned is what the trainer, logging, checkpoints
and figures cost, and pipeline / plain what a user gets. See docs/benchmarks.md.
"""

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn import functional as F

from convlab.bench.pairs import compose, pipeline_epochs
from convlab.bench.spread import alternate, bench_parser, report
from convlab.data.fashion_mnist import FashionMNISTDataModule
from convlab.models.lenet import LeNet


def plain_epochs(
    dm: FashionMNISTDataModule, epochs: int, experiment: dict, seed: int,
    channels_last: bool = False,
) -> list[float]:  # fmt: skip
    """The loop a reader of D2L would write: shuffle, forward, backward, step; then validate."""
    torch.manual_seed(seed)
    net = LeNet(activation=experiment["activation"], pooling=experiment["pooling"],
                channels_last=channels_last)  # fmt: skip
    train_x, train_y = dm.splits["train"]
    net = net.to(train_x.device)
    optimizer = experiment["optimizer"](net.parameters())
    val_x, val_y = dm.splits["val"]
    batch = experiment["batch_size"]
    durations = []
    for _ in range(epochs):
        started = time.perf_counter()
        net.train()
        order = torch.randperm(len(train_x), device=train_x.device)
        for idx in order.split(batch):
            loss = F.cross_entropy(net(train_x[idx]), train_y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        net.eval()
        correct = 0
        with torch.no_grad():
            for x, y in zip(val_x.split(1024), val_y.split(1024), strict=True):
                correct += int((net(x).argmax(1) == y).sum())
        durations.append(time.perf_counter() - started)  # int() above waited for the GPU
    return durations


# --breakdown: the pipeline again with one part switched off, to see what each part costs.
WITHOUT = {
    "images": ["callbacks=default"],  # conv filters, confusion matrix, misclassified
    "progress bar": ["callbacks.rich_progress_bar=null", "+trainer.enable_progress_bar=false"],
    "TensorBoard": ["logger=none"],
    "checkpoints": ["callbacks.model_checkpoint=null"],
    "all of these": ["callbacks=none", "logger=none", "+trainer.enable_progress_bar=false",
                     "+callbacks.epoch_timer._target_=convlab.callbacks.epoch_timer.EpochTimer"],
}  # fmt: skip

EXPERIMENTS = {"lenet": {"activation": "sigmoid", "pooling": "avg", "batch_size": 256,
                         "optimizer": lambda params: torch.optim.SGD(params, lr=0.9)}}  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = bench_parser(__doc__)
    add = parser.add_argument
    add("--experiment", default="lenet", choices=sorted(EXPERIMENTS))
    add("--device", default="cpu", choices=["cpu", "cuda"],
        help="cuda: both sides on the GPU, data held there (trainer=gpu)")  # fmt: skip
    add("--data-dir", help="folder of the Fashion-MNIST files (default: look up)")
    add("--breakdown", action="store_true",
        help="also time the pipeline without each of: " + ", ".join(WITHOUT))  # fmt: skip
    args = parser.parse_args(argv)

    experiment = EXPERIMENTS[args.experiment]
    overrides = ["trainer=gpu", "data.device=cuda"] if args.device == "cuda" else []
    if args.data_dir:
        overrides.append(f"data.data_dir={args.data_dir}")
    dm = FashionMNISTDataModule(batch_size=experiment["batch_size"], data_dir=args.data_dir,
                                device=args.device)  # fmt: skip
    dm.prepare_data()
    dm.setup("fit")
    ablations = WITHOUT if args.breakdown else {}
    with tempfile.TemporaryDirectory() as workdir:
        model = compose(args.experiment, overrides, Path(workdir)).model
        channels_last = bool(model.get("channels_last", False))
        # Untimed: each layout's first epoch pays one-time kernel set-up (the plain loop's alone).
        plain_epochs(dm, 1, experiment, seed=0)
        plain_epochs(dm, 1, experiment, seed=0, channels_last=channels_last)

        def pipeline(extra: list[str]) -> Callable[[int], list[float]]:
            return lambda r: pipeline_epochs(args.experiment, args.epochs, r, Path(workdir),
                                             [*overrides, *extra])[0]  # fmt: skip

        rounds = alternate({
            "plain": lambda r: plain_epochs(dm, args.epochs, experiment, r),
            "tuned": lambda r: plain_epochs(dm, args.epochs, experiment, r, channels_last),
            "pipeline": pipeline([]),
            **{f"without {part}": pipeline(off) for part, off in ablations.items()},
        }, args.rounds, "s per epoch", digits=2)  # fmt: skip
    print(f"{args.experiment} epoch (train + val) on {args.device}, torch threads "
          f"{torch.get_num_threads()}, {args.rounds} rounds x {args.epochs} epochs:")  # fmt: skip
    labels = {f"without {part}": f"  the same without {part}" for part in ablations}
    labels.update(plain="plain loop (D2L's)", pipeline=f"train.py experiment={args.experiment}")
    labels["tuned"] = f"plain loop, the pipeline's model settings (channels_last={channels_last})"
    return report(rounds, labels, unit="s per epoch", scale=1.0)


if __name__ == "__main__":
    main()
