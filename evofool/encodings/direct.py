"""The direct encoding: one gene per pixel and channel, in [0, 1] (paper section 2.2).

Genes are initialised uniformly at random; each mutates with probability
``rate(generation)`` by bounded polynomial mutation (eta = 15). The paper
halves the rate every 1000 generations from 0.1; the original code kept it
constant, which ``halving_generations=None`` gives. Optional simulated binary
crossover (eta = 10, applied to half of the children) follows the original code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from evofool.encodings.genome_batch import GenomeBatch
from evofool.encodings.image_buffer import ImageBuffer
from evofool.encodings.protocol import RecordFormat
from evofool.encodings.variation import polynomial_mutation, simulated_binary_crossover
from evofool.randomness import RunRandomness
from evofool.settings import ComponentSettings, positive, probability


@dataclass(frozen=True)
class DirectEncoding:
    """Genomes ``{"pixels": (N, C, H, W)}``; the image is the genome."""

    channels: int
    height: int
    width: int
    mutation_rate: float = 0.1
    halving_generations: int | None = 1000
    eta: float = 15.0
    crossover_rate: float = 0.0
    crossover_eta: float = 10.0

    @classmethod
    def from_settings(cls, settings: DirectSettings,
                      image_shape: tuple[int, int, int]) -> DirectEncoding:
        channels, height, width = image_shape
        return cls(channels=channels, height=height, width=width,
                   mutation_rate=settings.mutation_rate,
                   halving_generations=settings.halving_generations, eta=settings.eta,
                   crossover_rate=settings.crossover_rate, crossover_eta=settings.crossover_eta)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    @property
    def genome_bytes(self) -> int:
        return 4 * self.channels * self.height * self.width  # float32 pixels

    @property
    def uses_mates(self) -> bool:
        return self.crossover_rate > 0

    @property
    def record_format(self) -> RecordFormat:
        return "array"

    def rate_at(self, generation: int) -> float:
        """The per-gene mutation probability in force at ``generation``."""
        if self.halving_generations is None:
            return self.mutation_rate
        return self.mutation_rate * 0.5 ** (generation // self.halving_generations)

    def random(self, count: int, rng: RunRandomness) -> GenomeBatch:
        return {"pixels": rng.uniform(count, *self.image_shape)}

    def offspring(self, parents: GenomeBatch, mates: GenomeBatch | None, rng: RunRandomness,
                  generation: int, strength: torch.Tensor | None = None) -> GenomeBatch:
        """Children of ``parents``: crossed with ``mates`` (for some), then mutated; a
        child's ``strength`` divides its eta (larger: bigger steps)."""
        pixels = parents["pixels"]
        if self.crossover_rate > 0:
            crossed, _ = simulated_binary_crossover(
                pixels, mates["pixels"], low=0.0, high=1.0, eta=self.crossover_eta,
                gene_rate=0.5, rng=rng)
            use_cross = rng.uniform(pixels.shape[0]) < self.crossover_rate
            pixels = torch.where(use_cross.view(-1, 1, 1, 1), crossed, pixels)
        eta = self.eta if strength is None else self.eta / strength
        mutated = polynomial_mutation(pixels, low=0.0, high=1.0, eta=eta,
                                      rate=self.rate_at(generation), rng=rng)
        return {"pixels": mutated}

    def gradient_direction(self, genomes: GenomeBatch, pixel_gradients: torch.Tensor, *,
                           resolution: int | None) -> GenomeBatch:
        """The genome is the image: its gradient is the pixels' (``resolution`` is a
        CPPN's; a direct genome has one size)."""
        return {"pixels": pixel_gradients}

    def stepped(self, genomes: GenomeBatch, direction: GenomeBatch,
                lengths: torch.Tensor) -> GenomeBatch:
        """``genomes`` moved ``lengths`` (P,) along ``direction``, clipped to [0, 1]."""
        moved = genomes["pixels"] + lengths.view(-1, 1, 1, 1) * direction["pixels"]
        return {"pixels": moved.clamp(0.0, 1.0)}

    def render(self, genomes: GenomeBatch, buffer: ImageBuffer | None = None) -> torch.Tensor:
        return genomes["pixels"]

    def to_record(self, genomes: GenomeBatch, index: int) -> np.ndarray:
        """One genome as a float32 array (C, H, W), exact."""
        return genomes["pixels"][index].cpu().numpy().copy()

    def from_record(self, record: Any) -> GenomeBatch:
        pixels = torch.as_tensor(np.asarray(record, dtype=np.float32))
        if tuple(pixels.shape) != self.image_shape:
            raise ValueError(f"direct genome has shape {tuple(pixels.shape)}, "
                             f"expected {self.image_shape}")
        return {"pixels": pixels.unsqueeze(0)}


@dataclass(frozen=True)
class DirectSettings(ComponentSettings):
    """``encoding: {type: direct, ...}``: DirectEncoding's fields and defaults, the image
    size None for the model's input size."""

    type: Literal["direct"] = "direct"
    height: int | None = positive()  # None: the model's input size
    width: int | None = positive()  # None: the model's input size
    mutation_rate: float = probability(DirectEncoding.mutation_rate)  # share of genes mutated
    # the mutation rate halves every this many generations (the paper's schedule); None: fixed
    halving_generations: int | None = positive(DirectEncoding.halving_generations)
    eta: float = DirectEncoding.eta  # polynomial-mutation index: larger, smaller steps
    # share of children first crossed with a mate
    crossover_rate: float = probability(DirectEncoding.crossover_rate)
    crossover_eta: float = DirectEncoding.crossover_eta  # simulated-binary crossover's index
