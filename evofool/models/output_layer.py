"""A network's output layer, found and widened: how the n+1 experiment gives any classifier
its garbage class.

The output layer is the network's last linear layer in module order: LeNet's
and the small CNN's, a ResNet's ``fc``, a timm model's ``classifier``, and in a
TorchScript archive the module compiled from an ``nn.Linear``. Widening swaps
its weight and bias for longer ones in place, the old rows kept, which works
on scripted and traced modules too (their submodules cannot be replaced).
"""

from __future__ import annotations

import torch
from torch import nn


def output_layer(network: nn.Module) -> nn.Module | None:
    """The last linear layer of ``network`` (an ``nn.Linear`` or TorchScript's compiled
    one), or None where it has none."""
    linears = [module for module in network.modules() if isinstance(module, nn.Linear)
               or getattr(module, "original_name", None) == "Linear"]
    return linears[-1] if linears else None


def output_width(network: nn.Module) -> int | None:
    """How many outputs the output layer has, or None where there is none."""
    layer = output_layer(network)
    return None if layer is None else layer.weight.shape[0]


def widen_output(network: nn.Module, classes: int) -> nn.Module:
    """``network`` (changed in place) with its output layer widened to ``classes`` outputs:
    the existing rows kept, the new ones drawn as a fresh ``nn.Linear`` draws them (torch's
    generator).

    Raises:
        ValueError: no linear layer, or one already wider than ``classes``.
    """
    layer = output_layer(network)
    if layer is None:
        raise ValueError(f"{type(network).__name__} has no linear output layer")
    weight, bias = layer.weight, layer.bias
    present = weight.shape[0]
    if present == classes:
        return network
    if present > classes:
        raise ValueError(f"the output layer has {present} outputs, more than {classes}")
    wider = nn.Linear(weight.shape[1], classes, bias=bias is not None).to(weight)
    with torch.no_grad():
        wider.weight[:present] = weight
        if bias is not None:
            wider.bias[:present] = bias
    layer.weight = wider.weight
    if bias is not None:
        layer.bias = wider.bias
    if isinstance(layer, nn.Linear):
        layer.out_features = classes
    return network
