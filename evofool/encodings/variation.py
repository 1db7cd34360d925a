"""Deb's bounded polynomial mutation and simulated binary crossover, over whole tensors.

Element for element these follow DEAP's ``mutPolynomialBounded`` and
``cxSimulatedBinaryBounded`` (the operators of the paper's Sferes code), but
draw their random numbers for the whole population at once.
"""

from __future__ import annotations

import torch

from evofool.randomness import RunRandomness


def polynomial_mutation(values: torch.Tensor, *, low: float, high: float, eta: float,
                        rate: float | torch.Tensor, rng: RunRandomness,
                        where: torch.Tensor | None = None) -> torch.Tensor:
    """Mutate each element with probability ``rate`` (and only where ``where``); new tensor.

    Args:
        values: genes in [low, high].
        eta: distribution index; larger keeps children closer to parents
            (the paper's code uses 15).
        rate: per-gene mutation probability (a scalar, or broadcastable per row).
        where: optional mask of genes that may mutate at all (e.g. existing
            connections of a CPPN); random numbers are drawn for these only.
    """
    if where is not None:
        mutated = values.clone()
        mutated[where] = polynomial_mutation(values[where], low=low, high=high, eta=eta,
                                             rate=rate, rng=rng)
        return mutated
    mutate = rng.uniform(*values.shape) < rate
    chosen = values[mutate]
    u = rng.uniform(chosen.numel())
    span = high - low
    power = eta + 1.0
    below = u < 0.5
    # DEAP: xy = 1 - delta_1 below, 1 - delta_2 above, with delta_1, delta_2 the
    # normalised distances to the lower and upper bound.
    xy = torch.where(below, (high - chosen) / span, (chosen - low) / span)
    xy_power = xy.pow(power)
    value = torch.where(below, 2.0 * u + (1.0 - 2.0 * u) * xy_power,
                        2.0 * (1.0 - u) + 2.0 * (u - 0.5) * xy_power)
    root = value.pow(1.0 / power)
    delta = torch.where(below, root - 1.0, 1.0 - root)
    mutated = values.clone()
    mutated[mutate] = (chosen + delta * span).clamp_(low, high)
    return mutated


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
