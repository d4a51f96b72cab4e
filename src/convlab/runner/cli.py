"""``launch(main, config_name)`` starts a ``@hydra.main`` entry point: a quiet console, the configs'
resolvers, ``resume=<run dir>`` expanded, and a config that does not compose refused in one line
with the closest valid name (``HYDRA_FULL_ERROR=1`` keeps Hydra's own report).
"""

import functools
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
from hydra.errors import ConfigCompositionException, OverrideParseException
from omegaconf import DictConfig, OmegaConf, open_dict

from convlab.compat import PYTREE_MODULE
from convlab.errors import ConvlabError
from convlab.record import EXIT_USER_ERROR
from convlab.runner.check.targets import explain
from convlab.runner.check.validate import ConfigError, extra_checks, find_problems, folder_problem
from convlab.runner.overrides import first_job, sweep_job_dirname
from convlab.runner.resume import expand_resume

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"

# Hydra's flags that take a value (``--info``'s is optional); any other word is an override.
_VALUED = {"-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name",
           "-cd", "--config-dir", "--experimental-rerun"}  # fmt: skip
_INFO = ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath")
_NOT_ONE_RUN = {"-m", "--multirun", "-c", "--cfg", "--resolve", "-p", "--package"}
_COMPOSING = _NOT_ONE_RUN | {"-cn", "--config-name", "-cp", "--config-path", "-cd", "--config-dir"}


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
    expanded = expand_resume(*split_command_line(argv))
    return argv if expanded is None else expanded


def _flag(flags: list[str], *names: str) -> str | None:
    value = None
    for i, flag in enumerate(flags):
        name, _, inline = flag.partition("=")
        if name in names:
            value = inline or (flags[i + 1] if i + 1 < len(flags) else None)
    return value


def first_job_problem(script: Path, config_name: str, argv: list[str]) -> str | None:
    """One line for a command line whose config (its first job's) does not compose; for a single
    run, every problem the config check finds, before Hydra composes it again (a sweep's jobs are
    checked by ``ValidateConfig``)."""
    flags, overrides = split_command_line(argv)
    given = {flag.split("=")[0] for flag in flags if flag.startswith("-")}  # not their values
    if given - _COMPOSING:
        return None  # --help, --info, ...: Hydra's own business
    config_name = _flag(flags, "-cn", "--config-name") or config_name
    config_dir = script.parent / (_flag(flags, "-cp", "--config-path") or "conf")
    if extra := _flag(flags, "-cd", "--config-dir"):
        overrides = [*overrides, f"hydra.searchpath=[file://{Path(extra).absolute()}]"]
    full_error = os.environ.get("HYDRA_FULL_ERROR") == "1"  # Hydra's own report of a typo
    for override in overrides if not full_error else ():
        try:
            first_job([override])
        except OverrideParseException as error:
            reason = str(error).strip().splitlines()[0]
            return (f"{override}: not an override ({reason}); the grammar: "
                    "https://hydra.cc/docs/advanced/override_grammar/basic/")  # fmt: skip
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir.absolute()), version_base="1.3"):
        try:
            cfg = compose(config_name, first_job(overrides), return_hydra_config=True)
        except Exception as error:  # Hydra's own report for anything but a composition error
            composing = isinstance(error, ConfigCompositionException) and not full_error
            return explain(error, config_name, overrides) if composing else None
    if given & _NOT_ONE_RUN:
        return None
    HydraConfig.instance().set_config(cfg)
    problems = find_problems(cfg, extra_checks(cfg)) + folder_problem(cfg, "hydra.run.dir")
    return str(ConfigError(problems)) if problems else None


def launch(main: Callable[[], Any], config_name: str) -> None:
    quiet_console()
    register_resolvers()
    script = Path(inspect.unwrap(main).__code__.co_filename)
    try:
        if (expanded := expand_resume_argument(sys.argv[1:])) != sys.argv[1:]:
            print(f"resume: {' '.join(expanded)}", file=sys.stderr)  # what the run will be
            sys.argv[1:] = expanded
        if message := first_job_problem(script, config_name, sys.argv[1:]):
            raise ConvlabError(message)
    except ConvlabError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    main()


def run_uid() -> str:
    """A short random id, fixed for this process and those it starts: Hydra resolves
    ``hydra.sweep.dir`` again in every job, and a timestamp alone lets two sweeps collide."""
    os.environ["CONVLAB_RUN_UID"] = os.environ.get("CONVLAB_RUN_UID") or secrets.token_hex(3)
    return os.environ["CONVLAB_RUN_UID"]


def trains_on_cpu(accelerator: str) -> bool:
    """Whether ``trainer.accelerator`` means the CPU (``auto`` does without a CUDA device)."""
    if accelerator == "auto":
        import torch

        return not torch.cuda.is_available()
    return accelerator == "cpu"


def register_resolvers() -> None:
    for name, function in (("uid", run_uid), ("job_dirname", sweep_job_dirname),
                           ("on_cpu", trains_on_cpu)):  # fmt: skip
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, function)


def compose_run_config(
    overrides: list[str], output_dir: str | Path, config_name: str = "train"
) -> DictConfig:
    """The config ``train.py`` would compose, run in ``output_dir``, with Hydra's state set as
    inside ``@hydra.main`` (for tests and benchmarks)."""
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


# Lines no user can act on, dropped at their source only: (logger, pattern at the message's
# start, why) and (module, category, literal start, why).
_RANK_ZERO = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")
LOG_LINES = (
    *((name, r"💡 Tip: ", "Lightning's advertisements (litlogger)") for name in _RANK_ZERO),
    *((name, r"(GPU|TPU|HPU) available: False\b", "an accelerator absent and unused (one asked "
       "for is checked before)") for name in _RANK_ZERO),
    ("lightning.fabric.utilities.seed", r"(\[rank: \d+\] )?Seed set to \d+$",
     "the seed is in the config and in metrics.json"),
)  # fmt: skip
WARNING_LINES = (
    (PYTREE_MODULE, FutureWarning,
     "`isinstance(treespec, LeafSpec)` is deprecated", "Lightning's own use of a torch API"),
)  # fmt: skip


@functools.cache
def quiet_console() -> None:
    """Drop ``LOG_LINES`` and ``WARNING_LINES``, here and (through ``PYTHONWARNINGS``, whose
    fields split at ``:`` and ``,``) in the processes a run starts."""
    for logger, pattern, _why in LOG_LINES:
        drop = re.compile(pattern).match
        logging.getLogger(logger).addFilter(lambda record, drop=drop: not drop(record.getMessage()))
    options = [o for o in os.environ.get("PYTHONWARNINGS", "").split(",") if o]
    for module, category, prefix, _why in WARNING_LINES:
        warnings.filterwarnings("ignore", message=re.escape(prefix), category=category,
                                module=re.escape(module) + r"\Z")  # fmt: skip
        options.append(f"ignore:{re.split(r'[,:]', prefix)[0]}:{category.__name__}:{module}")
    os.environ["PYTHONWARNINGS"] = ",".join(dict.fromkeys(options))
