"""What MAP-Elites can learn per parent cell from which of its children were kept.

Both learners hold one number per cell of the parent pool, updated after every
generation from ``ChampionArchive.add``'s per-child result, and are saved in
checkpoints, so a resumed run draws exactly what an uninterrupted one would.
The updates are sums of fixed steps, added in child order on a CPU, so they
do not depend on the processor or thread count.
"""

from __future__ import annotations

import math

import torch

from evofool.randomness import RunRandomness


class Curiosity:
    """Cully & Demiris's curiosity score (IEEE TEC 2018, "Quality and Diversity
    Optimization: A Unifying Modular Framework"): +1 for each kept child, -1/2
    for each discarded one, never below 0. Parents are drawn with probability
    proportional to 1 + score: uniformly while nothing is known, and towards
    cells whose children keep improving something once some do."""

    KEPT, DISCARDED = 1.0, -0.5

    def __init__(self, cells: int, device: torch.device) -> None:
        self.score = torch.zeros(cells, device=device)

    def draw(self, cells: torch.Tensor, count: int, rng: RunRandomness) -> torch.Tensor:
        """``count`` parent cells from the occupied ``cells``, by roulette on 1 + score."""
        weights = (1.0 + self.score[cells]).cumsum(0)
        picks = torch.searchsorted(weights, rng.uniform(count) * weights[-1], right=True)
        return cells[picks.clamp_(max=cells.numel() - 1)]

    def tell(self, parents: torch.Tensor, kept: torch.Tensor) -> None:
        steps = torch.where(kept, self.KEPT, self.DISCARDED)
        self.score.index_add_(0, parents, steps).clamp_(min=0.0)

    def load(self, score: torch.Tensor) -> None:
        if score.shape == self.score.shape:
            self.score = score.to(self.score.device)


class StepSizes:
    """A mutation strength per parent cell, by the one-fifth success rule (Rechenberg):
    x1.25 for each kept child, x1.25^(-1/4) for each discarded one, so the size holds
    still when a fifth of a cell's children are kept; within [1/8, 8]. Kept in log2
    space, so an update is a sum of fixed steps."""

    GROW = math.log2(1.25)
    LIMIT = 3.0  # log2(8)

    def __init__(self, cells: int, device: torch.device) -> None:
        self.size = torch.zeros(cells, device=device)  # log2 of each cell's strength

    def of(self, parents: torch.Tensor) -> torch.Tensor:
        """(B,) each child's strength: its parent cell's."""
        return torch.exp2(self.size[parents])

    def tell(self, parents: torch.Tensor, kept: torch.Tensor) -> None:
        steps = torch.where(kept, self.GROW, -self.GROW / 4)
        self.size.index_add_(0, parents, steps).clamp_(-self.LIMIT, self.LIMIT)

    def load(self, size: torch.Tensor) -> None:
        if size.shape == self.size.shape:
            self.size = size.to(self.size.device)
