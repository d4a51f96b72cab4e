"""max(a, b) at batch size 1: training through the pipeline against the original study's loop.

The study's loop runs as a plain script would (default threads and Adam, no NVML check), then
at the pipeline's thread count, then with its optimizer arguments too: that *control* differs
from the pipeline only by Lightning, so the ratios separate what the configuration gains from
what the trainer costs. ``--with-stock`` undoes the speed settings. See docs/benchmarks.md.
"""

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from convlab.bench.spread import alternate, bench_parser, report

NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"
# The max experiments' speed settings, undone: what a Lightning run gives out of the box.
STOCK = ["data.steps_per_batch=1", "callbacks.progress_bar=null",
         "callbacks.rich_progress_bar={_target_: lightning.pytorch.callbacks.RichProgressBar}",
         "~optimizer.fused", "torch_threads=null",
         "~hydra.job.env_set.PYTORCH_NVML_BASED_CUDA_CHECK"]  # fmt: skip


def compose(experiment: str, overrides: list[str], run_dir: Path) -> DictConfig:
    """The config ``python train.py experiment=<experiment> <overrides>`` would run."""
    from convlab.runner.cli import compose_run_config

    return compose_run_config([f"experiment={experiment}", *overrides], run_dir)


def with_threads(threads: int, function, *args):
    """``function(*args)`` with the torch settings of a script that never imported Lightning."""
    saved_threads, saved_env = torch.get_num_threads(), os.environ.pop(NVML_CHECK, None)
    torch.set_num_threads(threads)
    try:
        return function(*args)
    finally:
        torch.set_num_threads(saved_threads)
        if saved_env is not None:
            os.environ[NVML_CHECK] = saved_env


def plain_step_times(cfg: DictConfig, epochs: int, seed: int, optimizer_kwargs: dict,
                     ) -> list[float]:  # fmt: skip
    """Seconds per step of the study's loop, one value per epoch (training + validation)."""
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    train_x, train_y = datamodule.splits["train"]
    val_x, val_y = datamodule.splits["val"]
    torch.manual_seed(seed)
    net = instantiate(cfg.model)
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.optimizer.lr, **optimizer_kwargs)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=1, shuffle=True)
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        net.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.mse_loss(net(x), y)
            loss.backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            float(F.l1_loss(net(val_x), val_y))
        times.append((time.perf_counter() - started) / len(loader))
    return times


def pipeline_epochs(experiment: str, epochs: int, seed: int, workdir: Path,
                    overrides: list[str] = ()) -> tuple[list[float], int]:  # fmt: skip
    """Seconds per epoch (from its EpochTimer) and optimizer steps of ``python train.py
    experiment=<experiment>``, default callbacks and logger included, run in this process."""
    from hydra.core.utils import env_override

    from convlab.members.run import train_members
    from convlab.runner.run import train

    run_dir = Path(tempfile.mkdtemp(dir=workdir))
    overrides = [f"trainer.max_epochs={epochs}", f"seed={seed}", *overrides]
    cfg = compose(experiment, overrides, run_dir)
    threads = torch.get_num_threads()  # train.py's process starts with PyTorch's default
    try:
        with env_override(dict(cfg.hydra.job.env_set)):  # as Hydra's run_job does for train.py
            work = train_members if int(cfg.members) > 1 else train  # as train.py picks
            record = work(cfg)
    finally:
        torch.set_num_threads(threads)
    return record.extras["epoch_durations_s"], record.steps


def pipeline_step_times(experiment: str, epochs: int, seed: int, workdir: Path,
                        overrides: list[str] = ()) -> list[float]:  # fmt: skip
    """Seconds per step of ``train.py experiment=<experiment>``, one value per epoch."""
    durations, steps = pipeline_epochs(experiment, epochs, seed, workdir, overrides)
    steps_per_epoch = steps / len(durations)
    return [duration / steps_per_epoch for duration in durations]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = bench_parser(__doc__)
    add = parser.add_argument
    add("--experiment", default="max_regression", choices=["max_regression", "max_gated"])
    add("--with-stock", action="store_true", help="also time the run without the speed settings")
    args = parser.parse_args(argv)

    default_threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as workdir:
        cfg = compose(args.experiment, [], Path(workdir) / "compose")
        if cfg.data.batch_size != 1:
            raise SystemExit(f"{args.experiment} does not train at batch size 1")
        threads = int(cfg.torch_threads or default_threads)
        adam_args = {k: v for k, v in OmegaConf.to_container(cfg.optimizer, resolve=True).items()
                     if not k.startswith("_") and k != "lr"}  # fmt: skip

        def study(threads: int, optimizer_kwargs: dict) -> Callable[[int], list[float]]:
            return lambda r: with_threads(threads, plain_step_times, cfg, args.epochs, r,
                                          optimizer_kwargs)  # fmt: skip

        def pipeline(overrides: list[str]) -> Callable[[int], list[float]]:
            return lambda r: pipeline_step_times(args.experiment, args.epochs, r, Path(workdir),
                                                 overrides)  # fmt: skip

        # name: (what it is, how to time one round of it)
        sides = {
            "study": (f"study loop: DataLoader, default Adam, {default_threads} threads (default)",
                      study(default_threads, {})),
            "study_same_threads": (f"study loop at the pipeline's thread count ({threads})",
                                   study(threads, {})),
            "control": (f"control loop: study loop with the pipeline's Adam args, {threads} "
                        "threads", study(threads, adam_args)),
            "pipeline": (f"train.py experiment={args.experiment}", pipeline([])),
        }  # fmt: skip
        if args.with_stock:
            sides["stock"] = ("train.py, stock settings (STOCK overrides)", pipeline(STOCK))
        rounds = alternate({name: run for name, (_, run) in sides.items()}, args.rounds,
                           "us/step", scale=1e6)  # fmt: skip

    print(f"{args.experiment}, batch size 1: time per step (training + validation), "
          f"{args.rounds} rounds x {args.epochs} epochs:")  # fmt: skip
    labels = {name: label for name, (label, _) in sides.items()}
    return report(rounds, labels, unit="us per step", scale=1e6)


if __name__ == "__main__":
    main()
