"""MAP-Elites with one cell per class (paper section 2.1)."""

from __future__ import annotations

from typing import Any

import torch

from evofool.archive import ChampionArchive
from evofool.encodings.genome_batch import take
from evofool.encodings.protocol import Encoding
from evofool.evaluator import BatchedEvaluator
from evofool.randomness import RunRandomness


class MapElites:
    """Each generation: B children of champions drawn uniformly from occupied cells,
    rendered and scored in one batched call, then offered to every class.

    The first generation is B random genomes. ``step`` advances one
    generation; all state (archive, counters, randomness) is held here.

    Args:
        classes: the classes that have a cell (default: all). The n+1
            experiment leaves the "garbage" class out: an image the model
            calls garbage is no fooling image.
    """

    def __init__(self, *, encoding: Encoding, evaluator: BatchedEvaluator, batch_size: int,
                 rng: RunRandomness, classes: list[int] | None = None) -> None:
        self.encoding = encoding
        self.evaluator = evaluator
        self.batch_size = batch_size
        self.rng = rng
        num_classes = len(evaluator.class_names)
        self.archive = ChampionArchive(num_classes, rng.device)
        self._cells = torch.arange(num_classes, device=rng.device) if classes is None \
            else torch.tensor(sorted(set(classes)), device=rng.device)
        self._eligible = None
        if classes is not None:
            self._eligible = torch.zeros(batch_size, num_classes, dtype=torch.bool,
                                         device=rng.device)
            self._eligible[:, self._cells] = True
        self.generation = 0
        self.evaluations = 0
        self.next_genome_id = 0

    @property
    def classes_in_play(self) -> torch.Tensor:
        """The classes that have a cell."""
        return self._cells

    def step(self) -> None:
        count = self.batch_size
        if self.generation == 0:
            children = self.encoding.random(count, self.rng)
            parent_ids = torch.full((count,), -1, dtype=torch.long, device=self.rng.device)
        else:
            cells = self.archive.occupied.nonzero().squeeze(1)
            parents = cells[self.rng.integers(cells.numel(), count)]
            genomes = self.archive.genomes
            mates = None
            if self.encoding.uses_mates:
                mates = take(genomes, cells[self.rng.integers(cells.numel(), count)])
            children = self.encoding.offspring(take(genomes, parents), mates, self.rng,
                                               self.generation)
            parent_ids = self.archive.genome_id[parents]
        probabilities = self.evaluator.score(self.encoding.render(children))
        child_ids = torch.arange(self.next_genome_id, self.next_genome_id + count,
                                 device=self.rng.device)
        self.archive.add(children, probabilities, generation=self.generation,
                         child_ids=child_ids, parent_ids=parent_ids,
                         evaluations_before=self.evaluations, eligible=self._eligible)
        self.evaluations += count
        self.next_genome_id += count
        self.generation += 1

    def summary_fields(self) -> dict[str, Any]:
        """Nothing beyond the common summary."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """All search state: archive, counters and randomness."""
        return {"archive": self.archive.state_dict(), "generation": self.generation,
                "evaluations": self.evaluations, "next_genome_id": self.next_genome_id,
                "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.archive.load_state_dict(state["archive"])
        self.generation = state["generation"]
        self.evaluations = state["evaluations"]
        self.next_genome_id = state["next_genome_id"]
        self.rng.set_state(state["rng"])

