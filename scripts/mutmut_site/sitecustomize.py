"""Imported at start-up by every Python process of ``make mutate`` (scripts/mutate.py puts this
folder on PYTHONPATH), test subprocesses included; never on the path otherwise.

mutmut runs a mutated function as a renamed copy (``xǁCǁ__init____mutmut_3``) called through
a ``trampoline``. Lightning's ``save_hyperparameters`` finds constructor arguments by walking
the frames named ``__init__``, so under mutmut every DataModule and task would lose its hparams
and every test would fail. Present those copies under their real name and step over the
trampolines, so hparams are what they would be without mutmut.
"""

from __future__ import annotations

from types import SimpleNamespace


def _let_lightning_read_mutated_constructors() -> None:
    try:
        from lightning.pytorch.utilities import parsing
    except ImportError:
        return
    get_init_args, collect_init_args = parsing._get_init_args, parsing.collect_init_args

    def renamed(frame):
        if "ǁ__init____mutmut_" in frame.f_code.co_name:
            code = frame.f_code.replace(co_name="__init__")
            return SimpleNamespace(f_code=code, f_locals=frame.f_locals, f_back=frame.f_back)
        return frame

    def skip_trampolines(frame):
        while (
            frame is not None
            and frame.f_code.co_name == "trampoline"
            and "mutmut" in frame.f_code.co_filename
        ):
            frame = frame.f_back
        return frame

    def collect(frame, path_args, inside=False, classes=()):
        return collect_init_args(skip_trampolines(frame), path_args, inside, classes)

    parsing._get_init_args = lambda frame: get_init_args(renamed(frame))
    parsing.collect_init_args = collect  # its recursion looks this name up: it steps over too


_let_lightning_read_mutated_constructors()
