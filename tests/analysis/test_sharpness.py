"""Sharpness: the Hessian's top eigenvalue against known Hessians, epsilon-sharpness against a
quadratic's box maximum, and the callback inside a real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.func import functional_call

from convlab.analysis.sharpness import epsilon_sharpness, top_hessian_eigenvalue
from convlab.callbacks.sharpness import Sharpness, training_batches
from tests.conftest import run_script


class Point(nn.Module):
    """A bare parameter vector; the loss below makes it a quadratic."""

    def __init__(self, x: torch.Tensor) -> None:
        super().__init__()
        self.x = nn.Parameter(x.clone())

    def forward(self, _: torch.Tensor) -> torch.Tensor:
        return self.x


def _quadratic(a: torch.Tensor):
    def loss(x: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
        return 0.5 * x @ a @ x

    return loss


def _symmetric(eigenvalues: list[float], seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    n = len(eigenvalues)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    return q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T


DUMMY = [(torch.zeros(1), torch.zeros(1))]


def test_quadratic_top_eigenvalue_is_exact():
    a = _symmetric([7.5, 3.0, 1.0, 0.5, -0.25])
    point = Point(torch.randn(5, dtype=torch.float64))
    value = top_hessian_eigenvalue(point, _quadratic(a), DUMMY, iterations=500, tolerance=1e-12)
    assert value == pytest.approx(7.5, rel=1e-8)


def test_a_dominant_negative_eigenvalue_does_not_hide_the_largest():
    # |-6| > 2: plain power iteration would answer -6, the largest eigenvalue is 2.
    a = _symmetric([-6.0, 2.0, 0.5])
    point = Point(torch.zeros(3, dtype=torch.float64))
    value = top_hessian_eigenvalue(point, _quadratic(a), DUMMY, iterations=500, tolerance=1e-12)
    assert value == pytest.approx(2.0, rel=1e-6)


def _tiny_problem():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1)).double()
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(23, 3, generator=generator, dtype=torch.float64)
    y = torch.randn(23, 1, generator=generator, dtype=torch.float64)
    return net, x, y


def _full_hessian_top(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    names = [name for name, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]
    flat = nn.utils.parameters_to_vector(net.parameters()).detach()

    def loss(vector: torch.Tensor) -> torch.Tensor:
        pieces = vector.split([s.numel() for s in shapes])
        params = {n: p.view(s) for n, p, s in zip(names, pieces, shapes, strict=True)}
        return nn.functional.mse_loss(functional_call(net, params, (x,)), y)

    hessian = torch.autograd.functional.hessian(loss, flat)
    return float(torch.linalg.eigvalsh(hessian).max())


def test_tiny_net_matches_the_full_hessian_over_uneven_batches():
    net, x, y = _tiny_problem()
    expected = _full_hessian_top(net, x, y)
    # Batches of 10, 10 and 3: the loss of the whole set is their sample-weighted mean.
    batches = list(zip(x.split(10), y.split(10), strict=True))
    value = top_hessian_eigenvalue(
        net, nn.functional.mse_loss, batches, iterations=1000, tolerance=1e-12
    )
    assert value == pytest.approx(expected, rel=1e-6)


def test_deterministic_given_the_seed():
    net, x, y = _tiny_problem()
    batches = [(x, y)]
    first = top_hessian_eigenvalue(net, nn.functional.mse_loss, batches, iterations=5, seed=3)
    again = top_hessian_eigenvalue(net, nn.functional.mse_loss, batches, iterations=5, seed=3)
    other = top_hessian_eigenvalue(net, nn.functional.mse_loss, batches, iterations=5, seed=4)
    assert first == again and first != other  # 5 iterations: not converged, so the start shows


def test_epsilon_sharpness_of_a_quadratic_is_its_box_corner():
    # At x = (1, 1, 1) the box is |z_i| <= 2 epsilon; 0.5 (x+z)^T A (x+z) with A = diag(1, 2, 3)
    # peaks at the corner z = +2 epsilon: 0.5 * 6 * (1 + 2 epsilon)^2, against f(x) = 3.
    a = torch.diag(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    ones = torch.ones(3, dtype=torch.float64)
    point = Point(ones)
    value = epsilon_sharpness(point, _quadratic(a), DUMMY, epsilon=0.1)
    peak, base = 0.5 * 6 * 1.2**2, 3.0
    assert value == pytest.approx(100 * (peak - base) / (1 + base), rel=1e-6)
    assert torch.equal(point.x.detach(), ones)  # the weights are restored


def test_training_batches_flatten_step_groups_and_stop_at_max_samples():
    x, y = torch.arange(40.0).view(20, 2), torch.arange(20.0).view(20, 1)
    groups = [[(x[i : i + 2], y[i : i + 2]), (x[i + 2 : i + 4], y[i + 2 : i + 4])]
              for i in range(0, 20, 4)]  # fmt: skip
    batches = training_batches(groups, max_samples=7, batch_size=3)
    assert [len(b[1]) for b in batches] == [3, 3, 1]
    assert torch.equal(torch.cat([b[1] for b in batches]), y[:7])
    everything = training_batches([(x, y)], max_samples=None, batch_size=100)
    assert torch.equal(everything[0][0], x)


def test_callback_in_a_run_records_the_sharpness(tmp_path: Path):
    result = run_script([
        "experiment=max_regression", "data.n_train=200", "trainer.max_epochs=1",
        "+callbacks.sharpness._target_=convlab.callbacks.sharpness.Sharpness",
        "+callbacks.sharpness.iterations=20", f"hydra.run.dir={tmp_path}",
    ], timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((tmp_path / "metrics.json").read_text())
    assert record["sharpness"] > 0  # near a minimum of a regression loss
    events = list(tmp_path.rglob("events.out.tfevents.*"))
    assert any(b"train/sharpness" in path.read_bytes() for path in events)


def test_callback_records_none_for_a_net_without_parameters(tmp_path: Path):
    callback = Sharpness()
    assert callback.record_extras() == {"sharpness": None}
