"""One champion per class: the genome that has given that class its highest confidence.

The paper's MAP-Elites keeps one cell per class, and a child replaces the
champion of *every* class where it scores higher, not only of its argmax
class. That rule matters: against an MNIST LeNet almost every noise image is
called "8", so an archive keyed on the predicted class fills a single cell.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from evofool.archive.confidence import FOOLED_THRESHOLD
from evofool.encodings.genome_batch import GenomeBatch, put, take

TOP_K = 5
EMPTY = -1.0  # the fitness of an empty cell, below any image's
_RECORDS = ("confidence", "fitness", "outlier_score", "generation", "genome_id", "parent_id",
            "evaluations_to_threshold", "top_classes", "top_probabilities")


class Added(NamedTuple):
    """What one ``add`` changed: what a search that learns from its children reads."""

    classes: torch.Tensor  # (K,) bool: the classes whose champion was replaced
    cells_taken: torch.Tensor  # (B,) int: how many cells each child took (0: not kept)
    improvement: torch.Tensor  # (B,) float: the fitness each child added over the cells it
    # took (an empty cell counts from 0), what an improvement-ranking emitter sorts by


class Cell(NamedTuple):
    """One occupied cell as plain Python values: what every reader of the archive
    (store rows, summary, results, PNGs) takes from it."""

    index: int
    confidence: float
    generation: int
    genome_id: int
    parent_id: int
    evaluations_to_threshold: int | None  # None until the class reached FOOLED_THRESHOLD
    top_k: list[tuple[int, float]]  # (class, probability); empty for non-class cells


class ChampionArchive:
    """Per-class champions and their records, as tensors on the run's device.

    Attributes:
        genomes: one row per class (valid where ``occupied``), or None before any add.
        confidence: (K,) the champion's probability for its class; -1 where empty.
        fitness: (K,) what champions compete on: the confidence, unless a detector
            gates the search (evofool.ood.gate: then below 0 for a flagged image);
            EMPTY where empty.
        outlier_score: (K,) the gating detector's score of the champion; +inf where none
            scored it (an inf, not a NaN, so that equal archives compare equal).
        generation: (K,) generation the champion was born in.
        genome_id, parent_id: (K,) lineage ids (-1: none).
        evaluations_to_threshold: (K,) evaluations spent when the class first
            reached ``FOOLED_THRESHOLD`` (the "fooling cost"); -1 until then.
        top_classes, top_probabilities: (K, min(top_k, K)) the model's top
            classes for each champion's image (none for cells that are not classes).
        last_improved: (K,) the classes whose champion the last ``add`` replaced.
    """

    def __init__(self, num_classes: int, device: torch.device, top_k: int = TOP_K) -> None:
        self.genomes: GenomeBatch | None = None
        self.confidence = torch.full((num_classes,), EMPTY, device=device)
        self.fitness = torch.full((num_classes,), EMPTY, device=device)
        self.outlier_score = torch.full((num_classes,), float("inf"), device=device)
        self.generation = torch.full((num_classes,), -1, dtype=torch.long, device=device)
        self.genome_id = torch.full_like(self.generation, -1)
        self.parent_id = torch.full_like(self.generation, -1)
        self.evaluations_to_threshold = torch.full_like(self.generation, -1)
        top = min(top_k, num_classes)
        self.top_classes = torch.full((num_classes, top), -1, dtype=torch.long, device=device)
        self.top_probabilities = torch.zeros(num_classes, top, device=device)
        self.last_improved = torch.zeros(num_classes, dtype=torch.bool, device=device)

    @property
    def num_classes(self) -> int:
        return self.confidence.shape[0]

    @property
    def occupied(self) -> torch.Tensor:
        return self.fitness > EMPTY

    def add(self, children: GenomeBatch, probabilities: torch.Tensor, *, generation: int,
            child_ids: torch.Tensor, parent_ids: torch.Tensor, evaluations_before: int,
            eligible: torch.Tensor | None = None, fitness: torch.Tensor | None = None,
            outlier_scores: torch.Tensor | None = None) -> torch.Tensor:
        """Let each child take every class where it beats the champion.

        Args:
            children: the scored genomes (B rows).
            probabilities: (B, K) the model's probabilities for the children.
            fitness: (B, K) what they compete on, where it is not the probabilities
                (a detector-gated search), with ``outlier_scores`` (B,) the detector's.
            eligible: optional (B, K) mask of the classes each child competes
                for (a GA child competes for its own target only).
            generation: the children's generation.
            child_ids, parent_ids: (B,) lineage ids.
            evaluations_before: evaluations spent before this batch.

        Returns:
            the classes whose champion changed, and how many each child took.
        """
        fitness = probabilities if fitness is None else fitness
        competing = fitness if eligible is None else fitness.masked_fill(~eligible, EMPTY)
        best, best_child = competing.max(dim=0)
        improved = best > self.fitness
        gain = (best - self.fitness.clamp_min(0))[improved]
        if self.genomes is None:
            self.genomes = take(children, best_child)
        else:
            classes = improved.nonzero().squeeze(1)
            put(self.genomes, classes, take(children, best_child[classes]))
        confidence = probabilities.gather(0, best_child.unsqueeze(0)).squeeze(0)
        self.confidence = torch.where(improved, confidence, self.confidence)
        self.fitness = torch.where(improved, best, self.fitness)
        if outlier_scores is not None:
            self.outlier_score = torch.where(improved, outlier_scores[best_child],
                                             self.outlier_score)
        self.generation = torch.where(improved, generation, self.generation)
        self.genome_id = torch.where(improved, child_ids[best_child], self.genome_id)
        self.parent_id = torch.where(improved, parent_ids[best_child], self.parent_id)
        top = probabilities[best_child].topk(self.top_classes.shape[1], dim=1)
        self.top_classes = torch.where(improved.unsqueeze(1), top.indices, self.top_classes)
        self.top_probabilities = torch.where(improved.unsqueeze(1), top.values,
                                             self.top_probabilities)
        self.last_improved = improved
        reached = competing >= FOOLED_THRESHOLD
        first_reaching = reached.int().argmax(dim=0)
        newly = reached.any(dim=0) & (self.evaluations_to_threshold < 0)
        self.evaluations_to_threshold = torch.where(
            newly, evaluations_before + first_reaching + 1, self.evaluations_to_threshold)
        takers = best_child[improved]
        cells_taken = torch.zeros(competing.shape[0], dtype=torch.long, device=improved.device)
        cells_taken.index_add_(0, takers, torch.ones_like(takers))
        improvement = torch.zeros(competing.shape[0], device=improved.device)
        improvement.index_add_(0, takers, gain)
        return Added(improved, cells_taken, improvement)

    def cells(self, which: torch.Tensor | None = None) -> list[Cell]:
        """The occupied cells, or those flagged in ``which`` (K,) bool, in index order:
        the one place champions are read out of the tensors."""
        chosen = self.occupied if which is None else which & self.occupied
        indices = chosen.nonzero().flatten().tolist()
        if not indices:
            return []
        index = torch.tensor(indices, device=self.confidence.device)
        confidence, generation, genome_id, parent_id, cost = (
            getattr(self, name)[index].tolist() for name in (
                "confidence", "generation", "genome_id", "parent_id",
                "evaluations_to_threshold"))
        top_classes, top_probabilities = (self.top_classes[index].tolist(),
                                          self.top_probabilities[index].tolist())
        return [Cell(cell, confidence[row], generation[row], genome_id[row], parent_id[row],
                     cost[row] if cost[row] >= 0 else None,
                     list(zip(top_classes[row], top_probabilities[row], strict=True)))
                for row, cell in enumerate(indices)]

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this archive exactly (tensors moved to the CPU)."""
        state: dict[str, Any] = {name: getattr(self, name).cpu() for name in _RECORDS}
        state["genomes"] = None if self.genomes is None else {
            key: value.cpu() for key, value in self.genomes.items()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        device = self.confidence.device
        state = {"fitness": state["confidence"],  # checkpoints from before detectors
                 "outlier_score": torch.full_like(state["confidence"], float("inf")), **state}
        for name in _RECORDS:
            setattr(self, name, state[name].to(device))
        self.genomes = None if state["genomes"] is None else {
            key: value.to(device) for key, value in state["genomes"].items()}
        self.last_improved = torch.zeros_like(self.last_improved)

