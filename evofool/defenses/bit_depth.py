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
from evofool.settings import between


@dataclass(frozen=True)
class BitDepthSettings(DefenseSettings):
    type: Literal["bit_depth"] = "bit_depth"
    bits: int = between(1, 8, 4)


class BitDepth(Defense):
    def __init__(self, settings: BitDepthSettings, spec) -> None:
        self.levels = float(2 ** settings.bits - 1)

    def transform(self, images: torch.Tensor, keys: list[int] | None) -> torch.Tensor:
        return torch.round(images * self.levels) / self.levels
