"""The only private names of Lightning that convlab uses: speed on the batch-size-1 path, where
no public way exists, and the module a warning filter names. ``tests/test_compat.py`` fails when
Lightning moves any of them."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports this module before Lightning loads
    from lightning.pytorch.core.optimizer import LightningOptimizer

# Lightning warns from here about its own use of a torch API; a filter can only name the module.
PYTREE_MODULE = "lightning.pytorch.utilities._pytree"
# Lightning sets this str around every hook call (~40 per training step); nn.Module.__setattr__
# takes ~2 us for it, ~7 % of a batch-size-1 step.
HOOK_NAME = "_current_fx_name"


class FastHookName:
    """Mixin for a LightningModule: sets the hook name as a plain attribute."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == HOOK_NAME:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)


def counted_step(optimizer: "LightningOptimizer") -> Callable[[], None]:
    """The wrapped optimizer's step between the two callbacks the manual loop gives the
    ``LightningOptimizer`` (they count ``global_step`` and time the step for the profiler):
    ~60 us less than ``optimizer.step()``, which reaches the optimizer through the strategy."""
    before, after, step = (
        optimizer._on_before_step,
        optimizer._on_after_step,
        optimizer.optimizer.step,
    )

    def counted() -> None:
        before()
        step()
        after()

    return counted
