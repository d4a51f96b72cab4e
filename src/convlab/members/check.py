"""What ``members=K`` refuses before anything is built: settings that would couple the members,
and more members than the memory holds.

Stacking is exact only when every operation on the stacked parameters acts on each member's
slice alone. Each refusal is one line naming the setting.
"""

import itertools
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from convlab.runner.overrides import hydra_node, in_multirun, sweep_domains

# Optimizers whose update of an element depends on that element's gradient and state only.
ELEMENTWISE_OPTIMIZERS = ("torch.optim.SGD", "torch.optim.Adam", "torch.optim.AdamW",
                          "convlab.optim.adam_then_sgd.AdamThenSGD")  # fmt: skip
# Nets whose forward is correct on a leading member axis once their Linears are stacked: every
# other op in them acts element-wise or along the last axis. A net not listed is refused.
NETS = ("convlab.models.mlp.MLP", "convlab.models.gated.GatedMax", "convlab.models.exact.ExactMax")
TASKS = ("convlab.tasks.regression.RegressionTask",
         "convlab.tasks.classification.ClassificationTask")  # fmt: skip
DATA = "convlab.data.pairs.PairDataModule"
# The project's callbacks a stacked run keeps or does per member; its others (sharpness,
# figures) read the net as one model, which would mix the members.
CALLBACKS = ("convlab.callbacks.checkpoint.ResumableCheckpoint",
             "convlab.callbacks.lr_logger.LearningRateLogger",
             "convlab.callbacks.step_axis.OptimizerStepAxis",
             "convlab.callbacks.epoch_timer.EpochTimer",
             "convlab.callbacks.divergence.DivergenceGuard",
             "convlab.callbacks.optimizer_epoch.OptimizerEpoch")  # fmt: skip


def _target(cfg: DictConfig, key: str) -> Any:
    node = cfg.get(key)
    return node.get("_target_") if isinstance(node, DictConfig) else None


def members_problems(cfg: DictConfig) -> list[str]:
    members = cfg.get("members", 1)
    if not isinstance(members, int) or isinstance(members, bool) or members <= 1:
        return []  # members=1 is a plain run; a non-integer is the schema check's line
    head = f"members={members}"
    if in_multirun(cfg):
        # A sweep's base config (a swept experiment is not applied yet): only what spans its
        # jobs here; each job's config is checked on its own, without a hydra node.
        problem = _repeated_seeds(cfg, members)
        return [problem] if problem else []
    problems = []
    if cfg.get("seed") is None:
        problems.append(f"{head} needs a seed (the members are seed, seed+1, ...).")
    if _target(cfg, "data") != DATA:
        problems.append(f"{head} stacks the max(a, b) runs only (data=pairs).")
    if _target(cfg, "model") not in NETS:
        problems.append(f"{head}: model={_target(cfg, 'model')} cannot be stacked "
                        "(mlp, gated and exact can).")  # fmt: skip
    if _target(cfg, "task") not in TASKS:
        problems.append(f"{head}: only task=regression and task=classification are stacked.")
    if _target(cfg, "optimizer") not in ELEMENTWISE_OPTIMIZERS:
        problems.append(f"{head}: optimizer {_target(cfg, 'optimizer')} is not known to act on "
                        "each parameter element alone (SGD, Adam, AdamW are).")  # fmt: skip
    scheduler = _target(cfg, "scheduler") or ""
    if scheduler.endswith("ReduceLROnPlateau"):
        problems.append(f"{head}: ReduceLROnPlateau watches one metric for all members.")
    trainer = cfg.get("trainer") or {}
    if trainer.get("gradient_clip_val"):
        problems.append(f"{head}: trainer.gradient_clip_val clips by the norm over all members' "
                        "gradients, which couples them; leave it null.")  # fmt: skip
    if (trainer.get("accumulate_grad_batches") or 1) > 1:
        problems.append(f"{head}: trainer.accumulate_grad_batches is not available.")
    if "ddp" in str(trainer.get("strategy", "")) or (trainer.get("num_nodes") or 1) > 1:
        problems.append(f"{head} runs in one process; use trainer=default, cpu or gpu.")
    for name, spec in (cfg.get("callbacks") or {}).items():
        target = str(spec.get("_target_", "")) if isinstance(spec, DictConfig) else ""
        if target.endswith("EarlyStopping"):
            problems.append(f"{head}: early stopping would stop every member on one metric; "
                            "use callbacks=default.")  # fmt: skip
        elif target.startswith("convlab.callbacks.") and target not in CALLBACKS:
            problems.append(f"{head}: callbacks.{name} reads the net as one model, which would "
                            f"mix the members; set callbacks.{name}=null.")  # fmt: skip
    if cfg.get("optimized_metric"):
        problems.append(f"{head}: a search optimises one run's metric; members are K runs.")
    if not problems and (problem := _size_problem(cfg, members)):
        problems.append(problem)
    return problems


# Per member parameter: its value, gradient, best value (test_ckpt=best) and two optimizer
# moments (Adam's; SGD keeps fewer).
STATE_COPIES = 5


def _size_problem(cfg: DictConfig, members: int) -> str | None:
    """An estimate, from one member's net and the data's sizes, of what K members hold at once:
    the state above, an evaluation batch entering and leaving the widest layer, the saved
    activations of a training batch and the epoch's batch order (int64) of each member."""
    import torch

    data = cfg.data
    try:
        net = instantiate(cfg.model)  # one member, milliseconds
        evaluated = min(int(data.eval_batch_size), max(int(data.n_val), int(data.n_test)))
        trained = int(data.batch_size) * int(data.get("steps_per_batch") or 1)
        n_train = int(data.n_train)
    except Exception:  # a value the net or the data refuse: the schema check's line names it
        return None
    params = sum(p.numel() for p in net.parameters())
    widths = [m.out_features for m in net.modules() if isinstance(m, torch.nn.Linear)]
    element = 8 if str((cfg.get("trainer") or {}).get("precision", "")).startswith("64") else 4
    floats = STATE_COPIES * params + 2 * evaluated * max(widths) + 2 * trained * sum(widths)
    need = members * (element * floats + 2 * 8 * n_train)
    available, memory = _free_memory(cfg)
    if need <= available:
        return None
    fits = int(members * available // need)
    return (f"members={members} needs about {need / 1e9:,.1f} GB ({params:,} parameters a member "
            f"with their gradients, optimizer state and best values, evaluation batches of "
            f"{evaluated:,} through {max(widths)} units), more than the {available / 1e9:.1f} GB "
            f"of {memory}: members={fits} or fewer fit.")  # fmt: skip


def _free_memory(cfg: DictConfig) -> tuple[int, str]:
    """Bytes free where the members will train: the CUDA device, else the machine's memory. On
    a GPU this starts CUDA here; the stacked run is one process, nothing is forked after it."""
    import psutil
    import torch

    accelerator = str(OmegaConf.select(cfg, "trainer.accelerator", default="auto")).lower()
    if accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        return torch.cuda.mem_get_info()[0], "free CUDA memory"
    return psutil.virtual_memory().available, "memory available"


def _repeated_seeds(cfg: DictConfig, members: int) -> str | None:
    """Each job trains seed .. seed+members-1: swept seeds (the command line's, else the sweep
    config's) closer than that repeat runs."""
    hydra = hydra_node(cfg)
    command_line = list(OmegaConf.select(hydra, "overrides.task", default=None) or [])
    params = OmegaConf.select(hydra, "sweeper.params", default=None) or {}
    for definitions in (command_line, [f"{key}={value}" for key, value in params.items()]):
        if any(str(d).partition("=")[0].lstrip("+~") == "seed" for d in definitions):
            seeds = sweep_domains(definitions).get("seed")
            break
    else:
        return None
    if not isinstance(seeds, list) or len(seeds) < 2:
        return None
    ordered = sorted(int(seed) for seed in seeds)
    if all(b - a >= members for a, b in itertools.pairwise(ordered)):
        return None
    return (f"members={members} with seed={','.join(map(str, seeds))} trains some seeds twice "
            f"(a job trains seed, ..., seed+{members - 1}); give one seed (seed={ordered[0]}) or "
            f"seeds {members} apart.")  # fmt: skip
