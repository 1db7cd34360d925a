"""Deb's bounded polynomial mutation and simulated binary crossover, over whole tensors.

Element for element these follow DEAP's ``mutPolynomialBounded`` and
``cxSimulatedBinaryBounded`` (the operators of the paper's Sferes code), but
draw their random numbers for the whole population at once.
"""

from __future__ import annotations

import math

import torch

from evofool.randomness import RunRandomness


def polynomial_mutation(values: torch.Tensor, *, low: float, high: float,
                        eta: float | torch.Tensor, rate: float, rng: RunRandomness,
                        where: torch.Tensor | None = None) -> torch.Tensor:
    """Mutate each element with probability ``rate`` (and only where ``where``); new tensor.

    Args:
        values: genes in [low, high].
        eta: distribution index; larger keeps children closer to parents
            (the paper's code uses 15). A (N,) tensor gives each row of
            ``values`` (each child) its own.
        rate: per-gene mutation probability.
        where: optional mask of genes that may mutate at all (e.g. existing
            connections of a CPPN).
    """
    mutated = values.clone(memory_format=torch.contiguous_format)
    flat = mutated.view(-1)
    candidates = where.reshape(-1).nonzero().squeeze(1) if where is not None else None
    count = flat.numel() if candidates is None else candidates.numel()
    chosen = _bernoulli_positions(count, rate, rng)
    if candidates is not None:
        chosen = candidates[chosen]
    if isinstance(eta, torch.Tensor):
        eta = eta[chosen // (flat.numel() // max(1, values.shape[0]))]
    flat[chosen] = _polynomial_step(flat[chosen], low=low, high=high, eta=eta, rng=rng)
    return mutated


def _bernoulli_positions(count: int, rate: float, rng: RunRandomness) -> torch.Tensor:
    """Sorted positions in [0, count), each present independently with probability ``rate``.

    Drawn as geometric gaps between successes, so the cost follows the expected
    count * rate mutations rather than count: direct genomes mutate about a
    tenth of their genes, CPPN weights fewer still.
    """
    device = rng.device
    if rate >= 1.0:
        return torch.arange(count, device=device)
    if rate <= 0.0 or count == 0:
        return torch.empty(0, dtype=torch.long, device=device)
    expected = count * rate
    draws = int(expected + 8.0 * math.sqrt(expected) + 16)
    log_miss = math.log1p(-rate)
    positions = torch.empty(0, dtype=torch.long, device=device)
    start = -1
    while True:
        # gap - 1 ~ Geometric(rate): floor(log(u) / log(1 - rate)), u in (0, 1].
        u = 1.0 - rng.uniform(draws)
        gaps = torch.floor(torch.log(u) / log_miss).long() + 1
        batch = start + gaps.cumsum(0)
        positions = torch.cat([positions, batch[batch < count]])
        if int(batch[-1]) >= count:
            return positions
        start = int(batch[-1])


def _polynomial_step(chosen: torch.Tensor, *, low: float, high: float,
                     eta: float | torch.Tensor, rng: RunRandomness) -> torch.Tensor:
    """Deb's bounded polynomial mutation of every element of ``chosen`` (DEAP's formulas)."""
    u = rng.uniform(chosen.numel())
    span = high - low
    power = eta + 1.0
    below = u < 0.5
    # DEAP: xy = 1 - delta_1 below, 1 - delta_2 above, with delta_1, delta_2 the
    # normalised distances to the lower and upper bound.
    xy_power = torch.where(below, high - chosen, chosen - low).div_(span).pow_(power)
    value = torch.where(below, 2.0 * u + (1.0 - 2.0 * u) * xy_power,
                        2.0 * (1.0 - u) + 2.0 * (u - 0.5) * xy_power)
    root = value.pow_(1.0 / power)
    delta = torch.where(below, root - 1.0, 1.0 - root)
    return delta.mul_(span).add_(chosen).clamp_(low, high)


def simulated_binary_crossover(first: torch.Tensor, second: torch.Tensor, *, low: float,
                               high: float, eta: float, gene_rate: float,
                               rng: RunRandomness) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross two equally shaped parent tensors gene by gene (probability ``gene_rate``).

    Returns the two children; where a gene is not crossed (or the parents are
    equal there) both children keep their own parent's value.
    """
    cross = (rng.uniform(*first.shape) <= gene_rate) & ((first - second).abs() > 1e-14)
    u = rng.uniform(*first.shape)
    swap = rng.uniform(*first.shape) <= 0.5
    x1, x2 = torch.minimum(first, second), torch.maximum(first, second)
    gap = (x2 - x1).clamp_min(1e-14)
    power = eta + 1.0

    def spread(distance_to_bound: torch.Tensor) -> torch.Tensor:
        beta = 1.0 + 2.0 * distance_to_bound / gap
        alpha = 2.0 - beta.pow(-power)
        return torch.where(u <= 1.0 / alpha, (u * alpha).pow(1.0 / power),
                           (1.0 / (2.0 - u * alpha)).pow(1.0 / power))

    child_low = (0.5 * (x1 + x2 - spread(x1 - low) * gap)).clamp(low, high)
    child_high = (0.5 * (x1 + x2 + spread(high - x2) * gap)).clamp(low, high)
    new_first = torch.where(swap, child_high, child_low)
    new_second = torch.where(swap, child_low, child_high)
    return torch.where(cross, new_first, first), torch.where(cross, new_second, second)
