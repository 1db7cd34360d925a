"""The CPPN's input grid: what every renderer draws over."""

from __future__ import annotations

import functools

import torch

from evofool.encodings.cppn.layout import NUM_INPUTS


@functools.cache
def coordinate_inputs(height: int, width: int, device: torch.device) -> torch.Tensor:
    """(4, H*W): x and y on a [-1, 1] grid, d = sqrt(x^2 + y^2), and a bias of 1."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, height, device=device),
                          torch.linspace(-1, 1, width, device=device), indexing="ij")
    distance = torch.sqrt(x * x + y * y)
    return torch.stack([x, y, distance, torch.ones_like(x)]).view(NUM_INPUTS, -1)
