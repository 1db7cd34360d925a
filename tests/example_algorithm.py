"""A tiny algorithm that lives in the tests only, to show what adding one takes: this one
module (settings beside the code) and one ``register`` line (tests/conftest.py). It says
how it proposes (``ask``) and what it learns from ``archive.add``'s per-child answer
(``tell``); evaluating, ids, the archive and counting come from ``Evolution``. The
contract tests then run on it like on the shipped algorithms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

from evofool.algorithms import Evolution, Outcome, Proposal
from evofool.encodings.genome_batch import take
from evofool.encodings.protocol import Encoding
from evofool.evaluation.unit import Evaluator
from evofool.randomness import RunRandomness
from evofool.settings import ComponentSettings, positive


@dataclass(frozen=True)
class StickySettings(ComponentSettings):
    """``algorithm: {type: sticky, batch_size: 16}``."""

    type: Literal["sticky"] = "sticky"
    batch_size: int = positive(16)  # children per generation


class StickyParents(Evolution):
    """Children of champions; a class whose last child was kept is drawn again first.

    The learned state is one flag per class, set from ``Outcome.added.cells_taken``.
    """

    def __init__(self, settings: StickySettings, *, encoding: Encoding,
                 evaluator: Evaluator, rng: RunRandomness) -> None:
        super().__init__(encoding=encoding, evaluator=evaluator, rng=rng)
        self.batch_size = settings.batch_size
        self.lucky = torch.zeros(len(evaluator.class_names), dtype=torch.bool, device=rng.device)

    @property
    def classes_in_play(self) -> torch.Tensor:
        return torch.arange(self.archive.num_classes, device=self.rng.device)

    def ask(self) -> Proposal:
        count = self.batch_size
        if self.generation == 0:
            return Proposal(self.encoding.random(count, self.rng),
                            torch.full((count,), -1, dtype=torch.long, device=self.rng.device))
        cells = self.archive.occupied.nonzero().squeeze(1)
        lucky = (self.lucky & self.archive.occupied).nonzero().squeeze(1)
        drawn = cells[self.rng.integers(cells.numel(), count)]
        parents = torch.cat([lucky, drawn])[:count]
        mates = take(self.archive.genomes, cells[self.rng.integers(cells.numel(), count)]) \
            if self.encoding.uses_mates else None
        children = self.encoding.offspring(take(self.archive.genomes, parents), mates, self.rng,
                                           self.generation)
        return Proposal(children, self.archive.genome_id[parents], parent_cells=parents)

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        if proposal.parent_cells is not None:
            self.lucky[:] = False
            self.lucky[proposal.parent_cells[outcome.added.cells_taken > 0]] = True

    def _extra_state(self) -> dict[str, Any]:
        return {"lucky": self.lucky.cpu()}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.lucky = state["lucky"].to(self.rng.device)
