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

from collections.abc import Callable
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


@dataclass(frozen=True)
class ScreenDecision:
    """What a generation gets, decided before its children are scored: ``kind`` is
    ``screen`` (screened, the candidates scored exactly), ``exact`` (every child scored
    exactly: the screen would not pay) or ``audit`` (every child on both engines);
    ``expected_cost`` is what it was decided on."""

    kind: str
    expected_cost: float | None

    @property
    def exact_for_all(self) -> bool:
        return self.kind != "screen"

    @property
    def screens_all(self) -> bool:
        return self.kind != "exact"


class Screen:
    """The rule that sends children on from a cheap engine to the exact one, and its state.

    The engines themselves live where the images are (a LocalEvaluator, or each Ray
    actor), so the same rule serves both: ``decide`` says before a generation is scored
    which engines score every child, ``conclude`` turns those scores into the
    generation's probabilities, asking the exact engine for the candidates.

    Args:
        engine: the screening engine's name (evofool.engines).
        margin: log-odds added to a screened score before it is compared.
        audit_every: generations between audits (every child scored exactly); None: never.
        cost_ratio: seconds of a screened score over seconds of an exact one (timed).
        always: screen every generation, paying or not.
    """

    def __init__(self, *, engine: str, margin: float, audit_every: int | None,
                 cost_ratio: float, always: bool = False) -> None:
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

    def decide(self, generation: int) -> ScreenDecision:
        """Whether ``generation`` is audited, scored exactly or screened."""
        expected = self.expected_cost()
        if self.audit_every is not None and generation % self.audit_every == 0:
            return ScreenDecision("audit", expected)
        pays = self.always or (expected is not None and expected < 1)
        return ScreenDecision("screen" if pays else "exact", expected)

    def conclude(self, decision: ScreenDecision, thresholds: torch.Tensor,
                 screened: torch.Tensor | None, exact: torch.Tensor | None,
                 exact_of: Callable[[torch.Tensor], torch.Tensor]
                 ) -> tuple[torch.Tensor, ScreenStats]:
        """(B, K) exact probabilities of the confirmed children, EMPTY for the rest (all
        exact on an audited or unscreened generation), and what the screen did.

        ``screened`` and ``exact``: every child's scores on each engine, where the decision
        asked for them (else None); ``exact_of``: the exact scores of the children at the
        given indices (in their order), for a screened generation's candidates."""
        if decision.exact_for_all:
            count = int(exact.shape[0])
            true = (exact > thresholds).any(dim=1)
            # what the screen would have sent on, had its scores been these
            self.share = float(could_improve(exact, thresholds, self.margin).sum()) / max(count, 1)
            missed = None if screened is None else \
                int((true & ~could_improve(screened, thresholds, self.margin)).sum())
            audited = decision.kind == "audit"
            return exact, ScreenStats(count if audited else 0, count, int(true.sum()), missed,
                                      decision.kind, decision.expected_cost, self.cost_ratio)
        count = int(screened.shape[0])
        chosen = could_improve(screened, thresholds, self.margin).nonzero().squeeze(1)
        probabilities = torch.full_like(screened, EMPTY)
        if chosen.numel():
            probabilities[chosen] = exact_of(chosen).to(probabilities.device)
        self.share = float(chosen.numel()) / max(count, 1)
        return probabilities, ScreenStats(count, int(chosen.numel()), None, None, "screen",
                                          decision.expected_cost, self.cost_ratio)

    def probabilities(self, images: torch.Tensor, thresholds: torch.Tensor, *,
                      exact: Callable[[torch.Tensor], torch.Tensor],
                      screened: Callable[[torch.Tensor], torch.Tensor],
                      generation: int) -> tuple[torch.Tensor, ScreenStats]:
        """``conclude`` for images at hand: ``exact`` and ``screened`` score images on
        each engine."""
        decision = self.decide(generation)
        exact_scores = exact(images) if decision.exact_for_all else None
        screened_scores = screened(images).to(thresholds.device) \
            if decision.screens_all else None
        return self.conclude(decision, thresholds, screened_scores, exact_scores,
                             lambda chosen: exact(images[chosen.to(images.device)]))
