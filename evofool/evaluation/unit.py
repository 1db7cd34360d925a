"""What an evaluation is: the contract between a search and wherever its children are scored.

A search hands over genomes and gets back an ``Evaluation``; rendering,
engines, a screen, a detector gate and descriptors all happen behind
``evaluate``, in the driver (``LocalEvaluator``) or on Ray actors
(``evofool.evaluation.ray``), so an algorithm never touches pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import torch

from evofool.encodings.genome_batch import GenomeBatch

if TYPE_CHECKING:
    from evofool.evaluation.screen import Screen, ScreenStats
    from evofool.ood.gate import DetectorGate

# (N,) brightness, or None where not asked for -> (N, K) the fitness each child must beat
# per class (what a screen needs to decide)
SUM_CHUNK = 16  # images rounded at once by pixel_sums
MustBeat = Callable[[torch.Tensor | None], torch.Tensor]


@dataclass(frozen=True)
class Evaluation:
    """A batch's scores: ``probabilities`` (N, K) are what the model says, ``fitness``
    (N, K) what the search ranks by (the probabilities, unless a gate applies),
    ``outlier_scores`` (N,) the gate's or None, and ``brightness`` (N,) each image's
    ``pixel_sums`` where asked for, else None (``brightness_bands`` turns it into
    MAP-Elites' descriptor), and ``screen`` what the screen did with the batch (None
    unscreened)."""

    probabilities: torch.Tensor
    fitness: torch.Tensor
    outlier_scores: torch.Tensor | None = None
    brightness: torch.Tensor | None = None
    screen: ScreenStats | None = None


def scored(probabilities: torch.Tensor, brightness: torch.Tensor | None,
           gate: DetectorGate | None = None, outlier: torch.Tensor | None = None) -> Evaluation:
    """An unscreened batch's Evaluation, in the driver or from Ray's shards alike: ranked by
    its probabilities, or with a detector ``gate`` by the gated fitness of them and the
    images' ``outlier`` scores."""
    if gate is None:
        return Evaluation(probabilities, probabilities, None, brightness)
    return Evaluation(probabilities, gate.fitness(probabilities, outlier), outlier, brightness)


class Evaluator(Protocol):
    """What a search needs to score its children.

    Attributes:
        device: where probabilities come back (the driver's, with genomes and archive).
        class_names: the model's classes.
        engine: the exact engine that scores (never ``auto``).
        images_scored: images scored exactly so far.
        screen: the screen in front of the exact engine, or None.
    """

    device: torch.device
    engine: str
    images_scored: int
    screen: Screen | None

    @property
    def class_names(self) -> tuple[str, ...]: ...

    def evaluate(self, genomes: GenomeBatch, *, generation: int, with_brightness: bool = False,
                 must_beat: MustBeat | None = None) -> Evaluation:
        """Render and score ``genomes``, with their brightness if asked (a pass over
        every pixel); ``must_beat`` gives what each child must beat (a screen sends on
        only those that might); ``generation`` is the screen's audit clock."""


def pixel_sums(images: torch.Tensor) -> torch.Tensor:
    """(N,) int64: each image's pixels rounded to 8 bits and summed. Integers, so the
    sum is exact whatever the order of addition (batch size, threads, processor): a
    child gets the same descriptor in the driver and on any actor. A few images at
    a time, so the rounded copy stays small."""
    return torch.cat([chunk.mul(255).round_().to(torch.int32).sum(dim=(1, 2, 3),
                                                                  dtype=torch.int64)
                      for chunk in images.split(SUM_CHUNK)]) if len(images) else \
        torch.zeros(0, dtype=torch.int64, device=images.device)


def brightness_bands(brightness: torch.Tensor, *, pixels: int, bands: int) -> torch.Tensor:
    """(N,) band of mean brightness, 0 .. bands - 1, from ``pixel_sums`` over ``pixels``
    values per image (C x H x W), in integer arithmetic."""
    return (brightness * bands // (255 * pixels)).clamp_(max=bands - 1)


class DifferentiableEvaluator(Evaluator, Protocol):
    """An evaluator that also differentiates (on the torch engine, here or on Ray actors):
    what gradient ascent needs, since it changes pixels itself rather than proposing
    genomes."""

    def log_probability_gradient(self, images: torch.Tensor, targets: torch.Tensor
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Probabilities (N, K) of ``images`` and each image's gradient of log p(target)."""

