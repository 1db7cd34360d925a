"""A tiny encoding that lives in the tests only, to show what adding one takes: this one
module (settings beside the code, a ``from_settings`` factory) and one ``register`` line
(tests/conftest.py). The contract tests then run on it like on the shipped ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from evofool.encodings.genome_batch import GenomeBatch
from evofool.encodings.image_buffer import ImageBuffer
from evofool.randomness import RunRandomness
from evofool.settings import ComponentSettings, positive, probability


@dataclass(frozen=True)
class TilesSettings(ComponentSettings):
    """``encoding: {type: tiles, tiles: 4, step: 0.1}``."""

    type: Literal["tiles"] = "tiles"
    height: int | None = positive()  # None: the model's input size
    width: int | None = positive()  # None: the model's input size
    tiles: int = positive(4)  # the image is tiles x tiles flat squares per channel
    step: float = probability(0.1)  # each tile's mutation: uniform in [-step, step]


@dataclass(frozen=True)
class TilesEncoding:
    """Genomes ``{"tiles": (N, C, T, T)}`` in [0, 1], drawn as flat squares."""

    channels: int
    height: int
    width: int
    tiles: int
    step: float

    @classmethod
    def from_settings(cls, settings: TilesSettings, image_shape: tuple[int, int, int]
                      ) -> TilesEncoding:
        return cls(*image_shape, tiles=settings.tiles, step=settings.step)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    @property
    def genome_bytes(self) -> int:
        return 4 * self.channels * self.tiles * self.tiles

    @property
    def uses_mates(self) -> bool:
        return False

    @property
    def record_format(self) -> str:
        return "array"

    def random(self, count: int, rng: RunRandomness) -> GenomeBatch:
        return {"tiles": rng.uniform(count, self.channels, self.tiles, self.tiles)}

    def offspring(self, parents: GenomeBatch, mates: GenomeBatch | None, rng: RunRandomness,
                  generation: int, strength: torch.Tensor | None = None) -> GenomeBatch:
        step = self.step if strength is None else self.step * strength.view(-1, 1, 1, 1)
        change = (rng.uniform(*parents["tiles"].shape) * 2 - 1) * step
        return {"tiles": (parents["tiles"] + change).clamp(0, 1)}

    def render(self, genomes: GenomeBatch, buffer: ImageBuffer | None = None) -> torch.Tensor:
        """Drawn by torch into new memory (these images are small; ``buffer`` is for
        encodings that draw large populations on the CPU)."""
        return torch.nn.functional.interpolate(genomes["tiles"], size=(self.height, self.width),
                                               mode="nearest")

    def to_record(self, genomes: GenomeBatch, index: int) -> np.ndarray:
        return genomes["tiles"][index].cpu().numpy().copy()

    def from_record(self, record: Any) -> GenomeBatch:
        return {"tiles": torch.as_tensor(np.asarray(record, dtype=np.float32)).unsqueeze(0)}
