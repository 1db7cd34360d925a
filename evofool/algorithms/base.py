"""What every search algorithm is to the job, and the bookkeeping they all share.

The job (evofool.run.job) only ever calls ``step``, ``state_dict`` and
``load_state_dict`` and reads ``archive``, ``stepping_stones``,
``classes_in_play``, ``generation``, ``evaluations`` and ``summary_fields``:
that is the whole contract. Genome ids, the evaluation and generation counters
and the checkpointed state of those live here, so they are counted and saved
one way; an algorithm adds only its own state (``_extra_state``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from evofool.archive.champions import Added, ChampionArchive
from evofool.encodings.genome_batch import GenomeBatch
from evofool.encodings.protocol import Encoding
from evofool.errors import ConfigError
from evofool.evaluation.unit import Evaluation, Evaluator, MustBeat
from evofool.randomness import RunRandomness

if TYPE_CHECKING:
    from evofool.evaluation.screen import Screen, ScreenStats


@dataclass(frozen=True)
class Proposal:
    """What ``ask`` proposes: children, their parents' genome ids (-1: none), optionally
    the classes each child may take (``eligible`` (B, K)), the parent cell each came from
    (for searches that learn per cell), and what each must beat (for a screen)."""

    genomes: GenomeBatch
    parent_ids: torch.Tensor
    eligible: torch.Tensor | None = None
    parent_cells: torch.Tensor | None = None
    must_beat: MustBeat | None = None
    with_brightness: bool = False


@dataclass(frozen=True)
class Outcome:
    """What became of a proposal: its scores, the children's new ids, what the archive
    took (``Added``) and how many evaluations came before it."""

    scores: Evaluation
    child_ids: torch.Tensor
    added: Added
    evaluations_before: int


class Search(ABC):
    """A search over genomes that offers every image it scores to a per-class archive.

    Args:
        encoding: genomes and their pixels.
        evaluator: scores genomes (behind it: rendering, engines, a screen, a gate).
        rng: the run's only source of randomness.
    """

    stepping_stones: ChampionArchive | None = None  # finer parent cells, where kept

    def __init__(self, *, encoding: Encoding, evaluator: Evaluator,
                 rng: RunRandomness) -> None:
        self.encoding = encoding
        self.evaluator = evaluator
        self.rng = rng
        self.archive = ChampionArchive(len(evaluator.class_names), rng.device)
        self.generation = 0
        self.evaluations = 0
        self.gradient_steps = 0  # images differentiated (backward passes), beside evaluations
        self.next_genome_id = 0
        self.last_screen: ScreenStats | None = None  # what the screen did last generation

    @property
    @abstractmethod
    def classes_in_play(self) -> torch.Tensor:
        """The classes this search evolves for (its archive may hold others' scores)."""

    @abstractmethod
    def step(self) -> None:
        """One generation."""

    @property
    def screen(self) -> Screen | None:
        """The screen in front of the exact engine, where the evaluation has one."""
        return self.evaluator.screen

    def summary_fields(self) -> dict[str, Any]:
        """What ``summary.json`` adds for this algorithm; nothing by default."""
        return {}

    def _new_ids(self, count: int) -> torch.Tensor:
        """Ids for ``count`` new genomes, unique over the run."""
        ids = torch.arange(self.next_genome_id, self.next_genome_id + count,
                           device=self.rng.device)
        self.next_genome_id += count
        return ids

    def state_dict(self) -> dict[str, Any]:
        """All search state: archive, counters, randomness and the algorithm's own."""
        return {"archive": self.archive.state_dict(), "generation": self.generation,
                "evaluations": self.evaluations, "next_genome_id": self.next_genome_id,
                "gradient_steps": self.gradient_steps,
                "rng": self.rng.get_state(), **self._extra_state(),
                **({} if self.screen is None else {"screen": self.screen.state_dict()})}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.archive.load_state_dict(state["archive"])
        self.generation = state["generation"]
        self.evaluations = state["evaluations"]
        self.next_genome_id = state["next_genome_id"]
        self.gradient_steps = state.get("gradient_steps", 0)  # older checkpoints: none
        self.rng.set_state(state["rng"])
        self._load_extra_state(state)
        if self.screen is not None and "screen" in state:  # none in checkpoints before 0.2
            self.screen.load_state_dict(state["screen"])

    @abstractmethod
    def _extra_state(self) -> dict[str, Any]:
        """The algorithm's own state, as checkpoint entries beside the shared ones."""

    @abstractmethod
    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``_extra_state`` saved."""


class Evolution(Search):
    """A search whose generation is ask -> evaluate -> archive -> tell, written once here.

    An algorithm says how it proposes children (``ask``) and what it learns from
    how they did (``tell``); evaluating them, giving them ids, offering them to the
    archive and counting are the same for all.
    """

    def step(self) -> None:
        proposal = self.ask()
        scores = self.evaluator.evaluate(proposal.genomes, generation=self.generation,
                                          with_brightness=proposal.with_brightness,
                                          must_beat=proposal.must_beat)
        count = int(proposal.parent_ids.numel())
        child_ids = self._new_ids(count)
        added = self.archive.add(proposal.genomes, scores.probabilities,
                                 generation=self.generation, child_ids=child_ids,
                                 parent_ids=proposal.parent_ids,
                                 evaluations_before=self.evaluations, eligible=proposal.eligible,
                                 fitness=scores.fitness, outlier_scores=scores.outlier_scores)
        outcome = Outcome(scores, child_ids, added, self.evaluations)
        self.last_screen = scores.screen
        self.evaluations += count
        self.tell(proposal, outcome)
        self.generation += 1

    @abstractmethod
    def ask(self) -> Proposal:
        """This generation's children."""

    @abstractmethod
    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        """Learn from how the children did (after the archive has seen them)."""


def check_classes(key: str, indices: list[int], evaluator: Evaluator) -> None:
    """Raise ConfigError, naming ``key``, for a class index the model does not have."""
    count = len(evaluator.class_names)
    for index in indices:
        if not 0 <= index < count:
            raise ConfigError(f"{key}: class {index} does not exist (the model has classes "
                              f"0..{count - 1})")
