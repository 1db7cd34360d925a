"""What the algorithms need from an encoding."""

from __future__ import annotations

from typing import Any, Literal, Protocol

import torch

from evofool.encodings.genome_batch import GenomeBatch
from evofool.encodings.image_buffer import ImageBuffer
from evofool.randomness import RunRandomness

RecordFormat = Literal["array", "json"]


class Encoding(Protocol):
    """Genomes as tensor batches, their variation, and their pixels."""

    @property
    def image_shape(self) -> tuple[int, int, int]: ...

    @property
    def genome_bytes(self) -> int:
        """Memory one genome takes in a batch (what the search's memory plan counts)."""

    @property
    def uses_mates(self) -> bool:
        """Whether ``offspring`` reads its ``mates`` (crossover); if not, None is passed."""

    def random(self, count: int, rng: RunRandomness) -> GenomeBatch:
        """``count`` fresh genomes: the first generation."""

    def offspring(self, parents: GenomeBatch, mates: GenomeBatch | None, rng: RunRandomness,
                  generation: int, strength: torch.Tensor | None = None) -> GenomeBatch:
        """One child per parent (mates are used by encodings with crossover). ``strength``
        (B,) scales each child's mutation step (1: the encoding's own; None: all 1)."""

    def render(self, genomes: GenomeBatch, buffer: ImageBuffer | None = None) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1]. An encoding that draws on the CPU draws into
        ``buffer`` where one is given (its images then live until the buffer's next use);
        one whose images already exist (direct) returns them as they are."""

    @property
    def record_format(self) -> RecordFormat:
        """What ``to_record`` returns: a float32 numpy array, or JSON-ready data."""

    def to_record(self, genomes: GenomeBatch, index: int) -> Any:
        """One genome in a storable form, as ``record_format`` says."""

    def from_record(self, record: Any) -> GenomeBatch:
        """A one-genome batch from ``to_record``'s output."""


class DifferentiableEncoding(Encoding, Protocol):
    """An encoding whose continuous genes the model's gradient can move (CPPN weights, direct
    pixels): what gradient children (evofool.algorithms.gradient_variation) need."""

    def gradient_direction(self, genomes: GenomeBatch, pixel_gradients: torch.Tensor, *,
                           resolution: int | None) -> GenomeBatch:
        """The gradient of each genome's image against ``pixel_gradients`` (N, C, H, W) with
        respect to its continuous genes, as a batch holding those genes' keys only; a CPPN
        draws its backward pass at ``resolution`` (None: the images' size)."""

    def stepped(self, genomes: GenomeBatch, direction: GenomeBatch,
                lengths: torch.Tensor) -> GenomeBatch:
        """``genomes`` moved ``lengths`` (N,) along ``direction``, kept within their bounds."""
