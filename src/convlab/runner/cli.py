"""``launch(main, config_name)`` starts a ``@hydra.main`` function the way the entry points need:

- a quiet console (``quiet_console``) and the resolvers the configs use (``register_resolvers``);
- ``resume=<run dir>`` expanded into the overrides that continue that run (``runner.resume``);
- Hydra's composition errors (an unknown key or option) retold in one line with the closest
  valid name: the config is composed once with Hydra's public compose API before ``main``
  runs (a sweep: its first job; the check composes every job later). ``HYDRA_FULL_ERROR=1``
  keeps Hydra's own report.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import secrets
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf, open_dict

from convlab.errors import ConvlabError
from convlab.runner.job import EXIT_USER_ERROR
from convlab.runner.overrides import first_job, sweep_job_dirname
from convlab.runner.resume import expand_resume

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"

# --- the command line ---------------------------------------------------------------------
# Hydra's flags (``python train.py --help`` lists them): those that take a value, one whose
# value is optional; everything else that does not start with "-" is an override.
_VALUED = {"-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name",
           "-cd", "--config-dir", "--experimental-rerun"}  # fmt: skip
_INFO = ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath")
# The flags with which Hydra composes the config given (and runs or shows it).
_COMPOSING = {"-m", "--multirun", "-c", "--cfg", "--resolve", "-p", "--package", "-cn",
              "--config-name", "-cp", "--config-path", "-cd", "--config-dir"}  # fmt: skip


def split_command_line(argv: list[str]) -> tuple[list[str], list[str]]:
    """(flags with their values, overrides), as Hydra reads a command line."""
    flags, overrides, args = [], [], list(argv)
    while args:
        arg = args.pop(0)
        if not arg.startswith("-"):
            overrides.append(arg)
            continue
        flags.append(arg)
        name = arg.split("=", 1)[0]
        takes = name in _VALUED or (name in ("-i", "--info") and args and args[0] in _INFO)
        if "=" not in arg and takes and args:
            flags.append(args.pop(0))
    return flags, overrides


def expand_resume_argument(argv: list[str]) -> list[str]:
    """``argv`` with ``resume=<run dir>`` replaced by what continues that run."""
    expanded = expand_resume(*split_command_line(argv))
    return argv if expanded is None else expanded


def _flag(flags: list[str], *names: str) -> str | None:
    value = None
    for i, flag in enumerate(flags):
        name, _, inline = flag.partition("=")
        if name in names:
            value = inline or (flags[i + 1] if i + 1 < len(flags) else None)
    return value


def composition_error(script: Path, config_name: str, argv: list[str]) -> str | None:
    """One line for a command line whose config does not compose, else ``None``."""
    from convlab.runner.check.composition import explain

    flags, overrides = split_command_line(argv)
    if {flag.split("=")[0] for flag in flags} - _COMPOSING:
        return None  # --help, --info, ...: Hydra's own business
    config_name = _flag(flags, "-cn", "--config-name") or config_name
    config_dir = script.parent / (_flag(flags, "-cp", "--config-path") or "conf")
    if extra := _flag(flags, "-cd", "--config-dir"):
        overrides = [*overrides, f"hydra.searchpath=[file://{Path(extra).absolute()}]"]
    try:
        job = first_job(overrides)
    except Exception:
        return None  # Hydra will say what is wrong with the command line itself
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir.absolute()), version_base="1.3"):
        try:
            compose(config_name=config_name, overrides=job)
        except ConfigCompositionException as error:
            return explain(error, config_name, overrides)
        except Exception:
            return None
    return None


def launch(main: Callable[[], Any], config_name: str) -> None:
    """Run a ``@hydra.main`` function: ``resume=`` expanded, composition errors in one line."""
    quiet_console()
    register_resolvers()
    try:
        expanded = expand_resume_argument(sys.argv[1:])
    except ConvlabError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    if expanded != sys.argv[1:]:
        print(f"resume: {' '.join(expanded)}", file=sys.stderr)  # what the run will be
        sys.argv[1:] = expanded
    if os.environ.get("HYDRA_FULL_ERROR") != "1":
        script = Path(inspect.unwrap(main).__code__.co_filename)
        if message := composition_error(script, config_name, sys.argv[1:]):
            print(f"error: {message}", file=sys.stderr)
            sys.exit(EXIT_USER_ERROR)
    main()


# --- the resolvers and an in-process composition ------------------------------------------
_UID_ENV = "CONVLAB_RUN_UID"


def run_uid() -> str:
    """A short random id, fixed for this process and the processes it starts.

    Hydra re-resolves ``hydra.sweep.dir`` for every job (and in launcher workers), so a fresh
    random value per call would split one sweep over many directories; a per-second timestamp
    alone lets two sweeps started in the same second collide.
    """
    if not os.environ.get(_UID_ENV):
        os.environ[_UID_ENV] = secrets.token_hex(3)
    return os.environ[_UID_ENV]


def trains_on_cpu(accelerator: str) -> bool:
    """Whether ``trainer.accelerator`` means the CPU (``auto`` does without a CUDA device)."""
    if accelerator == "auto":
        import torch

        return not torch.cuda.is_available()
    return accelerator == "cpu"


def register_resolvers() -> None:
    """The resolvers the configs use; registered before Hydra composes anything."""
    for name, function in (("uid", run_uid), ("job_dirname", sweep_job_dirname),
                           ("on_cpu", trains_on_cpu)):  # fmt: skip
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, function)


def compose_run_config(
    overrides: list[str], output_dir: str | Path, config_name: str = "train"
) -> DictConfig:
    """The composed config with ``output_dir`` as the run folder, exactly as ``train.py`` would
    compose it (for tests and benchmarks); Hydra's state is set up so ``${hydra:...}`` and
    ``HydraConfig.get()`` work as inside ``@hydra.main``."""
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            config_name=config_name,
            overrides=[*overrides, f"hydra.run.dir={output_dir}"],
            return_hydra_config=True,
        )
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.num = 0
    HydraConfig.instance().set_config(cfg)
    return cfg


# --- a quiet console ----------------------------------------------------------------------
# Lines no user can act on, dropped at their source: (logger, pattern at the message's start,
# why) and (module, category, literal start, why). The same kind of line from anywhere else,
# and everything else, still shows; nothing is filtered globally.
_RANK_ZERO = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
)
LOG_LINES = (
    *((name, r"💡 Tip: ", "Lightning's advertisements (litlogger, litmodels)")
      for name in _RANK_ZERO),
    *((name, r"(GPU|TPU|HPU) available: False\b",
       "an accelerator that is absent and unused (a GPU asked for is checked before)")
      for name in _RANK_ZERO),
    ("lightning.fabric.utilities.seed", r"(\[rank: \d+\] )?Seed set to \d+$",
     "the seed is in the config and in metrics.json"),
)  # fmt: skip
WARNING_LINES = (
    ("lightning.pytorch.utilities._pytree", FutureWarning,
     "`isinstance(treespec, LeafSpec)` is deprecated",
     "torch deprecates LeafSpec and Lightning's own code still uses it: nothing to act on"),
)  # fmt: skip
_quiet = False


def quiet_console() -> None:
    """Drop ``LOG_LINES`` and ``WARNING_LINES`` (idempotent). The warning filters are also
    exported through ``PYTHONWARNINGS``, which the processes a run starts (``ddp_spawn`` ranks,
    joblib workers) read at start-up; its fields are split at ``:`` and options at ``,``, so
    a message's start is cut before either."""
    global _quiet
    if _quiet:
        return
    _quiet = True
    for logger, pattern, _why in LOG_LINES:
        drop = re.compile(pattern).match
        logging.getLogger(logger).addFilter(lambda record, drop=drop: not drop(record.getMessage()))
    options = [option for option in os.environ.get("PYTHONWARNINGS", "").split(",") if option]
    for module, category, prefix, _why in WARNING_LINES:
        warnings.filterwarnings("ignore", message=re.escape(prefix), category=category,
                                module=re.escape(module) + r"\Z")  # fmt: skip
        options.append(f"ignore:{re.split(r'[,:]', prefix)[0]}:{category.__name__}:{module}")
    os.environ["PYTHONWARNINGS"] = ",".join(dict.fromkeys(options))
