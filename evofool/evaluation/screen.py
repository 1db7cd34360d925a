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

A screen pays only where few children go on to the exact engine: screening a
child costs ``cost_ratio`` of an exact score (the engines' timing, measured once
and kept with the run), and a generation whose children all go on costs
``1 + cost_ratio``. Early in a run most children improve some cell, so each
generation is screened only where the last one says it pays: the expected cost
``cost_ratio + share`` (``share``: the children the last generation sent on, or
would have sent on, scored exactly) must be below 1 (``when: pays``, the
default; ``when: always`` screens every generation). The decision is a function
of the run's state, not of a clock, so a resumed run decides as the whole run
did; screen.csv records each decision and both costs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from evofool.archive.champions import EMPTY

SCREEN_OFF = "off"  # what a run records when its screen was configured but none paid


@dataclass(frozen=True)
class ScreenStats:
    """One generation's screen: ``screened`` children, ``confirmed`` of them scored exactly;
    on an audited or unscreened generation, ``true_improvers`` (children whose exact scores
    beat a cell) and, audited, ``missed`` (of those, the ones the screen would not have
    confirmed). ``decision``: screen, exact (the screen would not have paid) or audit;
    ``expected_cost``: the screened generation's cost per child in exact scores, as
    decided on; ``cost_ratio``: a screened score's cost in exact scores."""

    screened: int
    confirmed: int
    true_improvers: int | None = None
    missed: int | None = None
    decision: str = "screen"
    expected_cost: float | None = None
    cost_ratio: float | None = None


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
        cost_ratio: seconds of a screened score over seconds of an exact one (timed).
        always: screen every generation, paying or not.
    """

    def __init__(self, scorer, *, engine: str, margin: float, audit_every: int | None,
                 cost_ratio: float, always: bool = False) -> None:
        self.scorer = scorer
        self.engine = engine
        self.margin = margin
        self.audit_every = audit_every
        self.cost_ratio = cost_ratio
        self.always = always
        self.share: float | None = None  # children the last generation sent on, or would have

    def state_dict(self) -> dict[str, float | None]:
        """What the next decision rests on: a resumed run decides as the whole run did."""
        return {"share": self.share, "cost_ratio": self.cost_ratio}

    def load_state_dict(self, state: dict[str, float | None]) -> None:
        self.share = state["share"]
        self.cost_ratio = float(state["cost_ratio"])

    def expected_cost(self) -> float | None:
        """A screened generation's cost per child in exact scores, from the last one's share
        (None before any generation: the first one's children all take empty cells)."""
        return None if self.share is None else self.cost_ratio + self.share

    def probabilities(self, images: torch.Tensor, thresholds: torch.Tensor, exact,
                      generation: int) -> tuple[torch.Tensor, ScreenStats]:
        """(B, K) exact probabilities of the confirmed children, EMPTY for the rest (all
        exact on an audited or unscreened generation), and what the screen did; ``exact``
        scores images on the exact engine."""
        count = int(images.shape[0])
        expected = self.expected_cost()
        audit = self.audit_every is not None and generation % self.audit_every == 0
        pays = self.always or (expected is not None and expected < 1)
        if audit or not pays:
            probabilities = exact(images)
            true = (probabilities > thresholds).any(dim=1)
            # what the screen would have sent on, had its scores been these
            sent = could_improve(probabilities, thresholds, self.margin)
            missed = None
            if audit:
                screened = self.scorer.score(images).to(thresholds.device)
                missed = int((true & ~could_improve(screened, thresholds, self.margin)).sum())
            self.share = float(sent.sum()) / max(count, 1)
            return probabilities, ScreenStats(count if audit else 0, count, int(true.sum()),
                                              missed, "audit" if audit else "exact", expected,
                                              self.cost_ratio)
        screened = self.scorer.score(images).to(thresholds.device)
        candidates = could_improve(screened, thresholds, self.margin)
        probabilities = torch.full_like(screened, EMPTY)
        chosen = candidates.nonzero().squeeze(1)
        if chosen.numel():
            probabilities[chosen] = exact(images[chosen.to(images.device)])
        self.share = float(chosen.numel()) / max(count, 1)
        return probabilities, ScreenStats(count, int(chosen.numel()), None, None, "screen",
                                          expected, self.cost_ratio)
