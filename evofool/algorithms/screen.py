"""Screen and confirm: score every child on a cheap engine, and again on the exact one only
where it could beat a champion.

MAP-Elites needs the exact score of a child only where it may take a cell: a
child no cell would take changes nothing. A reduced-precision engine (OpenVINO
in bf16, evofool.engines) ranks children almost as the float32 forward does at
about twice its speed, but its probabilities are off by up to ~0.2, so it only
decides who is scored again: a child is *confirmed* when, in some class, its
screened log-odds plus ``margin`` exceed the log-odds of the fitness it must
beat there (an empty cell: always). Only confirmed children's exact
probabilities reach the archive; the others count as scoring nothing (EMPTY),
so they take no cell. Log-odds, because the screen's error is roughly constant
there (a champion at 0.9999 and one at 0.5 need the same margin).

Every ``audit_every`` generations every child is scored exactly (and those
scores are the generation's), so the share of true improvements the screen
would have missed is measured, not assumed (screen.csv, summary.json).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from evofool.archive.champions import EMPTY

SCREEN_OFF = "off"  # what a run records when its screen was configured but none paid


@dataclass(frozen=True)
class ScreenStats:
    """One generation's screen: ``screened`` children, ``confirmed`` of them scored exactly;
    on an audited generation, ``true_improvers`` (children whose exact scores beat a cell)
    and ``missed`` (of those, the ones the screen would not have confirmed)."""

    screened: int
    confirmed: int
    true_improvers: int | None = None
    missed: int | None = None


def log_odds(probabilities: torch.Tensor) -> torch.Tensor:
    """log(p / (1 - p)) in float64: an exact 1.0 is +inf (nothing beats it), -1 (an empty
    cell) is -inf (anything does)."""
    p = probabilities.double()
    return torch.where(p < 0, float("-inf"), torch.log(p) - torch.log1p(-p))


def could_improve(screened: torch.Tensor, thresholds: torch.Tensor, margin: float
                  ) -> torch.Tensor:
    """(B,) whether each child's screened (B, K) probabilities, widened by ``margin`` in
    log-odds, beat its (B, K) thresholds in some class."""
    return (log_odds(screened) + margin > log_odds(thresholds)).any(dim=1)


class Screen:
    """A cheap scorer, and the rule that sends children on to the exact one.

    Args:
        scorer: scores images on the screening engine.
        engine: that engine's name, for records.
        margin: log-odds added to a screened score before it is compared.
        audit_every: generations between audits (every child scored exactly); None: never.
    """

    def __init__(self, scorer, *, engine: str, margin: float, audit_every: int | None) -> None:
        self.scorer = scorer
        self.engine = engine
        self.margin = margin
        self.audit_every = audit_every
        self.last: ScreenStats | None = None

    def probabilities(self, images: torch.Tensor, thresholds: torch.Tensor, exact,
                      generation: int) -> torch.Tensor:
        """(B, K): exact probabilities of the confirmed children, EMPTY for the rest (all
        exact on an audited generation); ``exact`` scores images on the exact engine."""
        screened = self.scorer.score(images).to(thresholds.device)
        candidates = could_improve(screened, thresholds, self.margin)
        count = int(images.shape[0])
        if self.audit_every is not None and generation % self.audit_every == 0:
            probabilities = exact(images)
            true = (probabilities > thresholds).any(dim=1)
            self.last = ScreenStats(count, count, int(true.sum()),
                                    int((true & ~candidates).sum()))
            return probabilities
        probabilities = torch.full_like(screened, EMPTY)
        chosen = candidates.nonzero().squeeze(1)
        if chosen.numel():
            probabilities[chosen] = exact(images[chosen.to(images.device)])
        self.last = ScreenStats(count, int(chosen.numel()))
        return probabilities
