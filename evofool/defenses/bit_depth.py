"""Bit-depth reduction, the first squeezer of feature squeezing (Xu, Evans & Qi, 2018).

Each value is rounded to the nearest of 2**bits evenly spaced levels in [0, 1]
(round half to even, as numpy's ``rint`` in the Adversarial Robustness
Toolbox's ``FeatureSqueezing``): 8 bits leave 8-bit images exactly as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from evofool.defenses.base import Defense, DefenseSettings
from evofool.errors import ConfigError


@dataclass(frozen=True)
class BitDepthSettings(DefenseSettings):
    type: Literal["bit_depth"] = "bit_depth"
    bits: int = 4  # 1 .. 8

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 8:
            raise ConfigError(f"bit_depth bits must be in 1..8, got {self.bits}")


class BitDepth(Defense):
    def __init__(self, settings: BitDepthSettings, spec) -> None:
        self.levels = float(2 ** settings.bits - 1)

    def transform(self, images: torch.Tensor, keys: list[int] | None) -> torch.Tensor:
        return torch.round(images * self.levels) / self.levels
