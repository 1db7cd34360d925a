"""Evaluation in the driver's process: render, score (behind a screen where one is set),
gate, describe."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from evofool.defenses import image_keys
from evofool.encodings.genome_batch import GenomeBatch
from evofool.encodings.image_buffer import ImageBuffer
from evofool.encodings.protocol import Encoding
from evofool.evaluation.scorer import ImageScorer
from evofool.evaluation.unit import Evaluation, MustBeat, pixel_sums, scored

if TYPE_CHECKING:
    from evofool.evaluation.screen import Screen
    from evofool.ood.gate import DetectorGate


class LocalEvaluator:
    """Genomes to an ``Evaluation`` with this process's engines.

    Args:
        encoding: draws the genomes.
        scorer: the exact engine's image scorer (it holds its own copy of the model).
        gate: a detector a child must pass to count for a class, or None.
        screen: the rule that decides which children the exact engine scores (only where
            the search says what each child must beat), or None.
        screen_scorer: the screen's cheap engine (with a screen only).
        seed: the run's seed; with the generation and each child's place in it, it seeds
            the scorer's random defences (noise averaging), so a resumed run and Ray's
            actors draw the same noise for the same child.
    """

    def __init__(self, encoding: Encoding, scorer: ImageScorer, *,
                 gate: DetectorGate | None = None, screen: Screen | None = None,
                 screen_scorer: ImageScorer | None = None, seed: int = 0) -> None:
        if (screen is None) != (screen_scorer is None):
            raise ValueError("a screen needs its scorer, and a screen scorer its screen")
        self.encoding = encoding
        self.seed = seed
        self.scorer = scorer
        self.gate = gate
        self.screen = screen
        self.screen_scorer = screen_scorer
        self.device = scorer.device
        self.engine = scorer.engine
        self.image_buffer = ImageBuffer()  # one generation's images at a time
        self._gradient_scorer: ImageScorer | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.scorer.class_names

    @property
    def images_scored(self) -> int:
        return self.scorer.images_scored

    def evaluate(self, genomes: GenomeBatch, *, generation: int, with_brightness: bool = False,
                 must_beat: MustBeat | None = None, first_child: int = 0) -> Evaluation:
        """``first_child``: where these genomes start in their generation (a Ray shard's
        offset), for the keys of random defences."""
        images = self.render(genomes)
        brightness = pixel_sums(images) if with_brightness else None
        if self.screen is not None and must_beat is not None:
            probabilities, stats = self.screen.probabilities(
                images, must_beat(brightness), exact=self.scorer.score,
                screened=self.screen_scorer.score, generation=generation)
            return Evaluation(probabilities, probabilities, None, brightness, stats)
        probabilities, outlier = self.exact_scores(images, generation, first_child)
        return scored(probabilities, brightness, self.gate, outlier)

    def render(self, genomes: GenomeBatch) -> torch.Tensor:
        """The genomes' images, in a buffer reused from one generation to the next."""
        return self.encoding.render(genomes, self.image_buffer)

    def exact_scores(self, images: torch.Tensor, generation: int, first_child: int = 0
                     ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The exact engine's probabilities of ``images`` (random defences keyed by the run's
        seed, ``generation`` and each image's place in it) and the gate's outlier scores
        (None without a gate)."""
        keys = image_keys(self.seed, generation, images.shape[0], first_child) \
            if self.scorer.defenses.random else None
        probabilities = self.scorer.score(images, keys)
        return probabilities, None if self.gate is None else self.gate.outlier_scores(images)

    def log_probability_gradient(self, images: torch.Tensor, targets: torch.Tensor
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Probabilities (N, K) of ``images`` and each image's gradient of log p(target),
        in torch: the exact engine where it is torch (gradient ascent), else a torch twin of
        it made on first use, so MAP-Elites' gradient children can come from torch while
        every child is scored on the fast exact engine."""
        return self.gradient_scorer.log_probability_gradient(images, targets)

    @property
    def gradient_scorer(self) -> ImageScorer:
        """The exact scorer's torch twin (itself where it runs torch), made on first use;
        images it differentiates are not counted as scored."""
        if self._gradient_scorer is None:
            self._gradient_scorer = self.scorer.torch_twin()
        return self._gradient_scorer
