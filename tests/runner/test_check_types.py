"""Does a config value fit a parameter's annotation (convlab.runner.check.types)? Each verdict
and each wording of what was expected, case by case."""

# Libraries annotate with typing.Union/Optional as well as `X | Y`; both forms are checked.
# ruff: noqa: UP007, UP045

from __future__ import annotations

import collections.abc as abc
import enum
import os
import typing
from pathlib import Path, PurePath, PurePosixPath
from typing import Annotated, Any, Literal, Optional, TypeVar, Union

import pytest
import torch
from omegaconf import OmegaConf

from convlab.runner.check.types import MISSING, UNRESOLVED, describe, mismatch, read, show

T = TypeVar("T")


class Color(enum.Enum):
    RED = 1


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [
        # What a config cannot judge is accepted, None included.
        (None, Any, None),
        (None, typing.Any, None),
        (None, T, None),
        ("x", T, None),
        # null
        (None, None, None),
        (3, None, "null"),
        (None, type(None), None),
        (3, type(None), "null"),
        # Literal: equal and of the same type (true is not 1).
        (1, Literal[1, 2], None),
        (True, Literal[1, 2], "one of 1, 2"),
        (1, Literal[True], "one of true"),
        ("1", Literal[1], "one of 1"),
        # Unions: one member that fits is enough; one that cannot judge leaves the whole open.
        (3, int | str, None),
        ("x", int | str, None),
        (2.5, int | str, "an integer or a string"),
        (2.5, int | T, None),
        (None, Optional[int], None),
        ("x", Union[int, None], "an integer or null"),
        # Annotated: its first argument decides and names.
        (3, Annotated[int, "unit"], None),
        ("x", Annotated[int, "unit"], "an integer"),
        # None for a type that is not optional.
        (None, int, "an integer"),
        (None, list[int], "a list"),
        (None, torch.Tensor, "Tensor"),
        # A nested _target_ builds the value itself: checked on its own.
        (OmegaConf.create({"_target_": "torch.nn.ReLU"}), int, None),
        (OmegaConf.create({"a": 1}), int, "an integer"),
        # Lists: the element type is checked where there is one.
        ([1, 2], list, None),
        ([1, 2], abc.Sequence[int], None),
        ((1, 2), tuple[int, ...], None),
        (("a",), tuple[int, ...], "a list"),
        ([1, "a"], tuple[int, str], None),
        (OmegaConf.create([1, 2]), list[int], None),
        (OmegaConf.create([1, "a"]), list[int], "a list"),
        ([1, None], list[int | None], None),
        ([[1]], list[T], None),
        (3, list, "a list"),
        ("ab", abc.Sequence[str], "a list"),
        ({"a": 1}, list[int], "a list"),
        # Mappings.
        ({"a": 1}, dict, None),
        (OmegaConf.create({"a": 1}), abc.Mapping[str, int], None),
        ([1], dict[str, int], "a mapping"),
        ("a", abc.MutableMapping, "a mapping"),
        # Scalars: true is not a number, an int is a float.
        (True, bool, None),
        (1, bool, "true or false"),
        (3, int, None),
        (True, int, "an integer"),
        (3.0, int, "an integer"),
        (3, float, None),
        (3.5, float, None),
        (False, float, "a number"),
        ("x", str, None),
        (3, str, "a string"),
        # Paths: a string or a path.
        ("x", Path, None),
        (PurePosixPath("x"), os.PathLike, None),
        ("x", PurePath, None),
        ("x", PurePosixPath, None),
        (3, Path, "Path"),
        (3, os.PathLike, "PathLike"),
        # Other classes: an instance fits; a plain value does not, except an Enum's name.
        (Color.RED, Color, None),
        ("RED", Color, None),
        (3, torch.Tensor, "Tensor"),
        ("x", torch.Tensor, "Tensor"),
        (2.5, torch.Tensor, "Tensor"),
        ([1], torch.Tensor, None),
        (3, typing.Callable[[int], int], None),
    ],
)
def test_value_against_annotation(value, annotation, expected):
    assert mismatch(value, annotation) == expected


@pytest.mark.parametrize(
    ("annotation", "text"),
    [
        (Literal["avg", "max"], "one of avg, max"),
        (Literal[True, None], "one of true, null"),
        (Literal["a"] | int, "one of a or an integer"),
        (Literal["a"] | Literal["a", "b"] | None, "one of a, b or null"),
        (Literal[16, 32] | Literal["bf16"] | None, "one of 16, 32, bf16 or null"),
        (int | float | None, "an integer or a number or null"),
        (Union[int, Union[str, None]], "an integer or a string or null"),
        (Union[Annotated[int, "u"], None], "an integer or null"),
        (int | Annotated[int, "u"], "an integer"),
        (Annotated[Literal["a", "b"], "u"], "one of a, b"),
        (list[int], "a list"),
        (abc.Sequence, "a list"),
        (tuple, "a list"),
        (dict[str, int], "a mapping"),
        (abc.Mapping, "a mapping"),
        (bool, "true or false"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (None, "null"),
        (type(None), "null"),
        (torch.Tensor, "Tensor"),
        (T, "T"),
        ("Forward", "Forward"),  # an unresolved forward reference: written as it is
    ],
)
def test_what_was_expected_is_said_in_words(annotation, text):
    assert describe(annotation) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [("", "''"), ("x", "x"), (True, "true"), (False, "false"), (None, "null"), (3, "3"),
     (2.5, "2.5"), ("True", "True"), (["Adam", 1], "['Adam', 1]")],
)  # fmt: skip
def test_values_are_shown_as_on_the_command_line(value, text):
    assert show(value) == text


def test_a_value_not_set_yet_is_read_as_such():
    node = OmegaConf.create(
        {"a": "???", "b": "${nope}", "c": None, "d": "${c}", "e": [1, "???"], "f": "${e.0}"}
    )
    assert read(node, "a") is MISSING
    assert read(node, "b") is UNRESOLVED  # only Hydra's run can resolve it
    assert read(node, "c") is None
    assert read(node, "d") is UNRESOLVED  # an interpolation that is null until the run is set up
    assert read(node, "f") == 1
    assert read(node, "absent") is UNRESOLVED
    assert read(node.e, 0) == 1 and read(node.e, 1) is MISSING
