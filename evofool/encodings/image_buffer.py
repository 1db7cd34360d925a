"""Memory a generation's images are drawn into, kept from one generation to the next.

A fresh tensor for 400 ImageNet-sized images is 241 MB of new pages, and the
kernel zeroes each on its first write: filling a new one took 0.15-0.18 s on
2 cores against 0.011 s for the same fill of memory already in use (scratch
timing, AMD EPYC) -- as long as drawing the images itself. A run draws one
generation at a time and scores it before the next, so the same memory serves
every generation (see BENCHMARKS.md, the CPPN renderer at ImageNet size).
"""

from __future__ import annotations

import math

import torch


class ImageBuffer:
    """One float32 CPU tensor, grown when a larger batch asks, handed out as (N, C, H, W).

    What ``take`` returns is valid until the next ``take``: its owner must be done
    with one generation's images before it draws the next (``LocalEvaluator``).
    """

    def __init__(self) -> None:
        self._memory = torch.empty(0)

    def take(self, count: int, shape: tuple[int, ...]) -> torch.Tensor:
        """Uninitialised (count, *shape) float32 memory, reused from the last call."""
        needed = count * math.prod(shape)
        if self._memory.numel() < needed:
            self._memory = torch.empty(needed)
        return self._memory[:needed].view(count, *shape)
