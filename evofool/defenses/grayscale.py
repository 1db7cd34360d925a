"""Colour removal: each RGB image replaced by its luma (ITU-R BT.601 weights, as PIL's
``convert("L")``) in all three channels, a squeezer of colour images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from evofool.defenses.base import Defense, DefenseSettings

LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class GrayscaleSettings(DefenseSettings):
    type: Literal["grayscale"] = "grayscale"


class Grayscale(Defense):
    channels = 3

    def __init__(self, settings: GrayscaleSettings, spec) -> None:
        pass

    def transform(self, images: torch.Tensor, keys: list[int] | None) -> torch.Tensor:
        weights = torch.tensor(LUMA, dtype=images.dtype, device=images.device)
        luma = torch.einsum("nchw,c->nhw", images, weights)
        return luma.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()
