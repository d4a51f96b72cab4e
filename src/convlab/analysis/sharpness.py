"""Sharpness of the training loss (the sample-weighted mean over the given batches) at the
current weights: the Hessian's top eigenvalue, by power iteration on Hessian-vector products,
and Keskar et al.'s (2017) epsilon-sharpness. Deterministic given ``seed``; in eval mode.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from functools import partial

import torch
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Batch = tuple[torch.Tensor, torch.Tensor]


@contextmanager
def _eval_mode(model: nn.Module):
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def _batch_weights(batches: Sequence[Batch]) -> list[float]:
    total = sum(len(target) for _, target in batches)
    return [len(target) / total for _, target in batches]


def hessian_vector_product(
    model: nn.Module, loss_fn: LossFn, batches: Sequence[Batch], vector: Sequence[torch.Tensor]
) -> list[torch.Tensor]:
    """``H v`` for the mean loss over ``batches``; ``vector`` is shaped like the parameters."""
    params = trainable_parameters(model)
    product = [torch.zeros_like(p) for p in params]
    for (x, target), weight in zip(batches, _batch_weights(batches), strict=True):
        loss = loss_fn(model(x), target) * weight
        grads = torch.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vector, strict=True))
        for total, part in zip(product, torch.autograd.grad(dot, params), strict=True):
            total.add_(part)
    return product


def _dot(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> float:
    return float(sum((x.double() * y.double()).sum() for x, y in zip(a, b, strict=True)))


def _normalized(vector: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    norm = math.sqrt(_dot(vector, vector))
    return [v / norm for v in vector]


def _power_iteration(
    apply: Callable[[list[torch.Tensor]], list[torch.Tensor]],
    start: list[torch.Tensor],
    iterations: int,
    tolerance: float,
) -> float:
    """The eigenvalue of largest magnitude of the symmetric map ``apply`` (Rayleigh quotient)."""
    vector = _normalized(start)
    eigenvalue = 0.0
    for _ in range(iterations):
        image = apply(vector)
        previous, eigenvalue = eigenvalue, _dot(vector, image)
        if not math.isfinite(eigenvalue) or _dot(image, image) == 0.0:
            return eigenvalue  # a non-finite loss has no sharpness to find; H = 0 has 0
        vector = _normalized(image)
        if abs(eigenvalue - previous) <= tolerance * max(abs(eigenvalue), 1e-12):
            break
    return eigenvalue


def top_hessian_eigenvalue(
    model: nn.Module,
    loss_fn: LossFn,
    batches: Iterable[Batch],
    iterations: int = 100,
    tolerance: float = 1e-4,
    seed: int = 0,
) -> float:
    """The largest (algebraic) eigenvalue of the Hessian; when power iteration's dominant one is
    negative (a saddle), a second run on ``H - lambda I`` recovers it."""
    batches = list(batches)
    params = trainable_parameters(model)
    if not params:
        raise ValueError("the model has no trainable parameters: its loss has no Hessian")
    generator = torch.Generator().manual_seed(seed)
    start = [torch.randn(p.shape, generator=generator).to(p) for p in params]
    hessian = partial(hessian_vector_product, model, loss_fn, batches)
    with _eval_mode(model):
        dominant = _power_iteration(hessian, start, iterations, tolerance)
        if dominant >= 0:
            return dominant

        def shifted(vector: list[torch.Tensor]) -> list[torch.Tensor]:
            return [hv - dominant * v for hv, v in zip(hessian(vector), vector, strict=True)]

        return dominant + _power_iteration(shifted, start, iterations, tolerance)


def epsilon_sharpness(
    model: nn.Module,
    loss_fn: LossFn,
    batches: Iterable[Batch],
    epsilon: float = 1e-3,
    iterations: int = 10,
    seed: int = 0,
) -> float:
    """``100 * max_z (f(w + z) - f(w)) / (1 + f(w))`` over ``|z_i| <= epsilon * (|w_i| + 1)``, by
    L-BFGS-B from a seeded random point (at ``z = 0`` a converged run's gradient vanishes)."""
    import numpy as np
    from scipy.optimize import Bounds, minimize

    batches = list(batches)
    params = trainable_parameters(model)
    if not params:
        raise ValueError("the model has no trainable parameters: its loss has no sharpness")
    weights = nn.utils.parameters_to_vector(params).detach().clone()
    bound = (epsilon * (weights.abs() + 1)).double().cpu().numpy()
    generator = np.random.default_rng(seed)
    batch_weights = _batch_weights(batches)

    def negative_rise(z: np.ndarray) -> tuple[float, np.ndarray]:
        shift = torch.from_numpy(z).to(weights)
        nn.utils.vector_to_parameters(weights + shift, params)
        pairs = zip(batches, batch_weights, strict=True)
        loss = sum(loss_fn(model(x), y) * w for (x, y), w in pairs)
        grads = torch.autograd.grad(loss, params)
        gradient = torch.cat([g.reshape(-1) for g in grads]).double().cpu().numpy()
        return -float(loss.detach()), -gradient

    try:
        with _eval_mode(model), torch.enable_grad():
            base = -negative_rise(np.zeros_like(bound))[0]
            result = minimize(
                negative_rise, generator.uniform(-bound, bound), jac=True, method="L-BFGS-B",
                bounds=Bounds(-bound, bound), options={"maxiter": iterations},
            )  # fmt: skip
    finally:
        nn.utils.vector_to_parameters(weights, params)
    highest = max(-float(result.fun), base)
    return 100.0 * (highest - base) / (1.0 + base)
