"""One champion per class: the genome that has given that class its highest confidence.

The paper's MAP-Elites keeps one cell per class, and a child replaces the
champion of *every* class where it scores higher, not only of its argmax
class. That rule matters: against an MNIST LeNet almost every noise image is
called "8", so an archive keyed on the predicted class fills a single cell.
"""

from __future__ import annotations

import torch

from evofool.encodings.genome_batch import GenomeBatch, put, take

COST_THRESHOLD = 0.99


class ChampionArchive:
    """Per-class champions and their records, as tensors on the run's device.

    Attributes:
        genomes: one row per class (valid where ``occupied``), or None before any add.
        confidence: (K,) the champion's probability for its class; -1 where empty.
        generation: (K,) generation the champion was born in.
        genome_id, parent_id: (K,) lineage ids (-1: none).
        evaluations_to_threshold: (K,) evaluations spent when the class first
            reached ``COST_THRESHOLD`` (the "fooling cost"); -1 until then.
    """

    def __init__(self, num_classes: int, device: torch.device) -> None:
        self.genomes: GenomeBatch | None = None
        self.confidence = torch.full((num_classes,), -1.0, device=device)
        self.generation = torch.full((num_classes,), -1, dtype=torch.long, device=device)
        self.genome_id = torch.full_like(self.generation, -1)
        self.parent_id = torch.full_like(self.generation, -1)
        self.evaluations_to_threshold = torch.full_like(self.generation, -1)

    @property
    def num_classes(self) -> int:
        return self.confidence.shape[0]

    @property
    def occupied(self) -> torch.Tensor:
        return self.confidence >= 0

    def add(self, children: GenomeBatch, probabilities: torch.Tensor, *, generation: int,
            child_ids: torch.Tensor, parent_ids: torch.Tensor,
            evaluations_before: int) -> torch.Tensor:
        """Let each child take every class where it beats the champion.

        Args:
            children: the scored genomes (B rows).
            probabilities: (B, K); entries below 0 never win (used to keep a
                child out of classes it does not compete for).
            generation: the children's generation.
            child_ids, parent_ids: (B,) lineage ids.
            evaluations_before: evaluations spent before this batch.

        Returns:
            (K,) mask of the classes whose champion changed.
        """
        best, best_child = probabilities.max(dim=0)
        improved = best > self.confidence
        if self.genomes is None:
            self.genomes = take(children, best_child)
        else:
            classes = improved.nonzero().squeeze(1)
            put(self.genomes, classes, take(children, best_child[classes]))
        self.confidence = torch.where(improved, best, self.confidence)
        self.generation = torch.where(improved, generation, self.generation)
        self.genome_id = torch.where(improved, child_ids[best_child], self.genome_id)
        self.parent_id = torch.where(improved, parent_ids[best_child], self.parent_id)
        reached = probabilities >= COST_THRESHOLD
        first_reaching = reached.int().argmax(dim=0)
        newly = reached.any(dim=0) & (self.evaluations_to_threshold < 0)
        self.evaluations_to_threshold = torch.where(
            newly, evaluations_before + first_reaching + 1, self.evaluations_to_threshold)
        return improved
