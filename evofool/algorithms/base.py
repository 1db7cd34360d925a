"""What every search algorithm is to the job, and the bookkeeping they all share.

The job (evofool.job) only ever calls ``step``, ``state_dict`` and
``load_state_dict`` and reads ``archive``, ``stepping_stones``,
``classes_in_play``, ``generation``, ``evaluations`` and ``summary_fields``:
that is the whole contract. Genome ids, the evaluation and generation counters
and the checkpointed state of those live here, so they are counted and saved
one way; an algorithm adds only its own state (``_extra_state``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import torch

from evofool.archive import ChampionArchive
from evofool.encodings.protocol import Encoding
from evofool.errors import ConfigError
from evofool.randomness import RunRandomness

if TYPE_CHECKING:
    from evofool.algorithms.screen import Screen


class Scorer(Protocol):
    """What a search needs from an evaluator (local, ONNX Runtime or Ray)."""

    device: torch.device

    @property
    def class_names(self) -> tuple[str, ...]: ...

    def score(self, images: torch.Tensor) -> torch.Tensor:
        """Probabilities (N, K) on ``device`` for [0, 1] images (N, C, H, W)."""


class GradientScorer(Scorer, Protocol):
    """A scorer that can also differentiate (local torch only): gradient ascent."""

    def log_probability_gradient(self, images: torch.Tensor, targets: torch.Tensor
                                 ) -> tuple[torch.Tensor, torch.Tensor]: ...


class Gate(Protocol):
    """An OOD detector a search must get past (evofool.ood.gate.DetectorGate)."""

    def outlier_scores(self, images: torch.Tensor) -> torch.Tensor:
        """(N,) outlier scores of [0, 1] images, on their device."""

    def fitness(self, probabilities: torch.Tensor, outlier: torch.Tensor) -> torch.Tensor:
        """(N, K) the probabilities where an image passes, below every passing one elsewhere."""


@dataclass(frozen=True)
class Evaluation:
    """A batch's scores: ``probabilities`` (N, K) are what the model says, ``fitness``
    (N, K) what the search ranks by (the probabilities, unless a gate applies), and
    ``outlier_scores`` (N,) the gate's, or None."""

    probabilities: torch.Tensor
    fitness: torch.Tensor
    outlier_scores: torch.Tensor | None = None


class Search(ABC):
    """A search over genomes that offers every image it scores to a per-class archive.

    Args:
        encoding: genomes and their pixels.
        evaluator: scores images.
        rng: the run's only source of randomness.
        gate: an OOD detector children must pass to count for a class, or None.
    """

    stepping_stones: ChampionArchive | None = None  # finer parent cells, where kept
    screen: Screen | None = None  # a cheap engine that screens children (MAP-Elites)

    def __init__(self, *, encoding: Encoding, evaluator: Scorer, rng: RunRandomness,
                 gate: Gate | None = None) -> None:
        self.encoding = encoding
        self.evaluator = evaluator
        self.rng = rng
        self.gate = gate
        self.archive = ChampionArchive(len(evaluator.class_names), rng.device)
        self.generation = 0
        self.evaluations = 0
        self.next_genome_id = 0

    @property
    @abstractmethod
    def classes_in_play(self) -> torch.Tensor:
        """The classes this search evolves for (its archive may hold others' scores)."""

    @abstractmethod
    def step(self) -> None:
        """One generation."""

    def summary_fields(self) -> dict[str, Any]:
        """What ``summary.json`` adds for this algorithm; nothing by default."""
        return {}

    def _evaluate(self, images: torch.Tensor) -> Evaluation:
        """Score ``images``; where a gate applies, also its outlier scores and fitness."""
        probabilities = self.evaluator.score(images)
        if self.gate is None:
            return Evaluation(probabilities, probabilities)
        outlier = self.gate.outlier_scores(images)
        return Evaluation(probabilities, self.gate.fitness(probabilities, outlier), outlier)

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
                "rng": self.rng.get_state(), **self._extra_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.archive.load_state_dict(state["archive"])
        self.generation = state["generation"]
        self.evaluations = state["evaluations"]
        self.next_genome_id = state["next_genome_id"]
        self.rng.set_state(state["rng"])
        self._load_extra_state(state)

    @abstractmethod
    def _extra_state(self) -> dict[str, Any]:
        """The algorithm's own state, as checkpoint entries beside the shared ones."""

    @abstractmethod
    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``_extra_state`` saved."""


def check_classes(key: str, indices: list[int], scorer: Scorer) -> None:
    """Raise ConfigError, naming ``key``, for a class index the model does not have."""
    count = len(scorer.class_names)
    for index in indices:
        if not 0 <= index < count:
            raise ConfigError(f"{key}: class {index} does not exist (the model has classes "
                              f"0..{count - 1})")
