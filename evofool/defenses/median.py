"""Median smoothing, the second squeezer of feature squeezing (Xu, Evans & Qi, 2018).

Each channel is median-filtered over a ``window`` x ``window`` neighbourhood,
edges mirrored with the edge pixel repeated, as ``scipy.ndimage.median_filter``
(``mode="reflect"``) in the Adversarial Robustness Toolbox's ``SpatialSmoothing``:
for an even window the neighbourhood reaches one pixel further up and left,
and the upper of the two middle values is taken (tests/test_defenses.py
compares them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from evofool.defenses.base import Defense, DefenseSettings
from evofool.settings import between


@dataclass(frozen=True)
class MedianSettings(DefenseSettings):
    type: Literal["median"] = "median"
    window: int = between(2, 9, 2)  # pixels per side


class Median(Defense):
    def __init__(self, settings: MedianSettings, spec) -> None:
        self.window = settings.window

    def transform(self, images: torch.Tensor, keys: list[int] | None) -> torch.Tensor:
        window = self.window
        before, after = window // 2, window - 1 - window // 2
        rows = _mirrored(images.shape[-2], before, after, images.device)
        columns = _mirrored(images.shape[-1], before, after, images.device)
        padded = images.index_select(-2, rows).index_select(-1, columns)
        patches = padded.unfold(-2, window, 1).unfold(-2, window, 1).flatten(-2)
        rank = window * window // 2  # zero-based: the upper middle for an even count
        return patches.kthvalue(rank + 1, dim=-1).values


def _mirrored(size: int, before: int, after: int, device: torch.device) -> torch.Tensor:
    """Indices of a row (or column) padded by mirroring with the edge repeated
    (``d c b a | a b c d | d c b a``)."""
    index = torch.arange(-before, size + after, device=device)
    index = torch.where(index < 0, -index - 1, index)
    return torch.where(index >= size, 2 * size - index - 1, index)
