"""The CPPN node functions of the paper (section 2.2), indexed by a small integer code."""

from __future__ import annotations

import torch

ACTIVATION_NAMES = ("sin", "sigmoid", "gaussian", "linear")  # index = code
SIN, SIGMOID, GAUSSIAN, LINEAR = range(len(ACTIVATION_NAMES))


def activate(z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Apply each node's function to its pre-activations.

    Args:
        z: pre-activations (..., pixels).
        codes: activation codes shaped like ``z`` without its last dimension.

    The functions: sin(z); 2*sigmoid(z) - 1 (a sigmoid centred on 0, range
    (-1, 1)); Gaussian exp(-z^2); linear clip(z, -3, 3) / 3.
    """
    # Each function runs only on its own nodes' rows: transcendental work is
    # the cost of rendering, so computing all four everywhere would triple it.
    rows = z.reshape(-1, z.shape[-1])
    flat_codes = codes.reshape(-1)
    out = torch.empty_like(rows)
    for code, function in enumerate(ACTIVATION_FUNCTIONS):
        selected = (flat_codes == code).nonzero().squeeze(1)
        if selected.numel():
            out.index_copy_(0, selected, function(rows.index_select(0, selected)))
    return out.view(z.shape)


def _sin(z: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.sin(z, out=out)


def _sigmoid(z: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    if out is None:
        return torch.sigmoid(z) * 2.0 - 1.0
    return torch.sigmoid(z, out=out).mul_(2.0).sub_(1.0)


def _gaussian(z: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    if out is None:
        return torch.exp(-torch.square(z))
    return torch.square(z, out=out).neg_().exp_()


def _linear(z: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    if out is None:
        return torch.clamp(z, -3.0, 3.0) / 3.0
    return torch.clamp(z, -3.0, 3.0, out=out).div_(3.0)


# Each takes an optional ``out`` so the batched renderer writes straight into its table;
# without one it computes out of place (the same operations), so autograd can follow it
# (evofool.encodings.cppn.weight_gradient differentiates a CPPN through these).
ACTIVATION_FUNCTIONS = (_sin, _sigmoid, _gaussian, _linear)
