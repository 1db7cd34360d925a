"""Evaluation in the driver's process: render, score (behind a screen where one is set),
gate, describe."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evofool.encodings.genome_batch import GenomeBatch
from evofool.encodings.protocol import Encoding
from evofool.evaluation.scorer import ImageScorer
from evofool.evaluation.unit import Evaluation, MustBeat, pixel_sums

if TYPE_CHECKING:
    from evofool.algorithms.screen import Screen
    from evofool.ood.gate import DetectorGate


class LocalEvaluation:
    """Genomes to an ``Evaluation`` with this process's engines.

    Args:
        encoding: draws the genomes.
        scorer: the exact engine's image scorer (it holds its own copy of the model).
        gate: a detector a child must pass to count for a class, or None.
        screen: a cheap engine that decides which children the exact one scores
            (only where the search says what each child must beat), or None.
    """

    def __init__(self, encoding: Encoding, scorer: ImageScorer, *,
                 gate: DetectorGate | None = None, screen: Screen | None = None) -> None:
        self.encoding = encoding
        self.scorer = scorer
        self.gate = gate
        self.screen = screen
        self.device = scorer.device
        self.engine = scorer.engine

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.scorer.class_names

    @property
    def images_scored(self) -> int:
        return self.scorer.images_scored

    def evaluate(self, genomes: GenomeBatch, *, generation: int, with_brightness: bool = False,
                 must_beat: MustBeat | None = None) -> Evaluation:
        images = self.encoding.render(genomes)
        brightness = pixel_sums(images) if with_brightness else None
        if self.screen is not None and must_beat is not None:
            probabilities = self.screen.probabilities(images, must_beat(brightness),
                                                      self.scorer.score, generation)
            return Evaluation(probabilities, probabilities, None, brightness)
        probabilities = self.scorer.score(images)
        if self.gate is None:
            return Evaluation(probabilities, probabilities, None, brightness)
        outlier = self.gate.outlier_scores(images)
        return Evaluation(probabilities, self.gate.fitness(probabilities, outlier), outlier,
                          brightness)
