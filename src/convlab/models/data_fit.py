"""Does the net take the data's samples and give what the task compares with the targets?

Asked before training, by one forward pass of a zero batch shaped like the data module's
``input_shape``, its output held against ``target_shape`` or the ``num_classes`` of
``task_facts()``: a mismatch is one line in the config's words instead of a shape error (or a
silently broadcast loss) at the first step.
"""

from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from convlab.errors import ConvlabError

# Model arguments that decide what a sample must be, and what the net gives for one.
INPUT_KEYS = ("in_features", "in_channels")
OUTPUT_KEYS = ("num_classes", "out_features", "out_channels", "kernel_size")


def choice(cfg: DictConfig, group: str) -> str:
    """``mlp`` for ``model=mlp``: the group's option, else the class its config builds."""
    if HydraConfig.initialized() and (name := HydraConfig.get().runtime.choices.get(group)):
        return name
    return str(cfg[group].get("_target_", group)).rsplit(".", 1)[-1]


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) or "one number"


def _keys(model: DictConfig, keys: tuple[str, ...]) -> str:
    return ", ".join(f"model.{key}={model[key]}" for key in keys if key in model)


def _output_of(net: torch.nn.Module, sample: tuple[int, ...]) -> torch.Tensor:
    training = net.training
    net.eval()  # no dropout draws, no batch statistics updated
    try:
        with torch.no_grad():
            return net(torch.zeros(2, *sample))
    finally:
        net.train(training)


def _classes_problem(cfg: DictConfig, got: tuple[int, ...], classes: int, data: str) -> str:
    labels = f"the labels of {data} go to {classes - 1}"
    key = next((k for k in OUTPUT_KEYS if len(got) == 1 and cfg.model.get(k) == got[0]), None)
    if key:
        return f"model.{key}={got[0]} but {labels}: set model.{key}={classes}"
    return (
        f"model={choice(cfg, 'model')} gives outputs of {_shape(got)} a sample but {labels}: "
        f"task=classification needs {classes} scores"
    )


def check_net_fits_data(cfg: DictConfig, task: Any, datamodule: Any) -> None:
    """Raise ``ConvlabError`` naming the config keys where ``task.net`` cannot train on
    ``datamodule``; a data module without ``input_shape`` is not checked."""
    sample = getattr(datamodule, "input_shape", None)
    if sample is None:
        return
    model, data = f"model={choice(cfg, 'model')}", f"data={choice(cfg, 'data')}"
    try:
        got = tuple(_output_of(task.net, tuple(sample)).shape[1:])
    except (RuntimeError, ValueError) as error:
        given, shape = _keys(cfg.model, INPUT_KEYS), _shape(sample)
        problem = (f"{model} expects {given} but {data} gives samples of {shape}" if given
                   else f"{model} cannot take the samples of {data}, {shape}")  # fmt: skip
        reason = next(iter(str(error).splitlines()), "")
        raise ConvlabError(f"{problem} ({type(error).__name__}: {reason})") from error
    labels = getattr(datamodule, "task_facts", dict)().get("num_classes")
    classes = getattr(task, "num_classes", None)  # a classification task's
    if classes is None and labels is not None:
        raise ConvlabError(f"task={choice(cfg, 'task')} needs numeric targets but {data} gives "
                           f"class labels ({labels} classes); use task=classification")  # fmt: skip
    if labels is not None and classes != labels:
        raise ConvlabError(f"task.num_classes={classes} but the labels of {data} go to "
                           f"{labels - 1}: leave task.num_classes unset")  # fmt: skip
    if classes is not None and got != (classes,):
        raise ConvlabError(_classes_problem(cfg, got, classes, data))
    if classes is None and got != (want := tuple(datamodule.target_shape)):
        keys = f" ({keys})" if (keys := _keys(cfg.model, OUTPUT_KEYS)) else ""
        raise ConvlabError(f"{model}{keys} gives outputs of {_shape(got)} a sample but the "
                           f"targets of {data} are {_shape(want)}")  # fmt: skip
