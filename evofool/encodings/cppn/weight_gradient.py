"""How a CPPN's image changes with its connection weights: the backward pass that
gradient-informed variation (evofool.algorithms.gradient_variation) takes through a genome.

The batched renderers write into preallocated tables in place, which autograd
cannot follow; this draws one genome at a time, node by node in topological
order, with out-of-place operations, and differentiates the image's inner
product with a given pixel gradient (a vector-Jacobian product). A CPPN draws
at any size, so the pixel gradient may come at a coarser grid than the model
sees (``pooled_gradient``): the backward pass then costs that grid's pixels.
Only the direction matters: every child is still drawn and scored exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from evofool.encodings.cppn.activations import ACTIVATION_FUNCTIONS
from evofool.encodings.cppn.grid import coordinate_inputs
from evofool.encodings.cppn.layout import NUM_INPUTS
from evofool.encodings.genome_batch import GenomeBatch


def weight_gradients(genomes: GenomeBatch, pixel_gradients: torch.Tensor, *,
                     outputs: int) -> torch.Tensor:
    """(P, S, S) d <image_p, pixel_gradients[p]> / d weight[p, dst, src]; zero where no
    connection. Each genome is drawn at the pixel gradients' (H, W)."""
    height, width = pixel_gradients.shape[-2:]
    inputs = coordinate_inputs(height, width, torch.device("cpu"))
    gradients = torch.zeros_like(genomes["weight"], device="cpu")
    for index in range(genomes["alive"].shape[0]):
        genome = {key: value[index].cpu() for key, value in genomes.items()}
        dst, src = genome["connected"].nonzero(as_tuple=True)
        weights = genome["weight"][dst, src].clone().requires_grad_(True)
        image = _draw(genome, dst, src, weights, inputs, outputs)
        inner = (image * pixel_gradients[index].cpu().reshape(outputs, -1)).sum()
        if inner.requires_grad:  # no output depends on any weight: no direction
            (gradients[index, dst, src],) = torch.autograd.grad(inner, weights)
    return gradients.to(genomes["weight"].device)


def pooled_gradient(pixel_gradients: torch.Tensor, side: int | None) -> torch.Tensor:
    """Pixel gradients (N, C, H, W) summed over blocks down to ``side`` x ``side`` (None or
    a side not smaller than H: as they are), the gradient of the coarser image that the
    CPPN draws at that size and the model sees blown up."""
    height, width = pixel_gradients.shape[-2:]
    if side is None or side >= min(height, width):
        return pixel_gradients
    return F.adaptive_avg_pool2d(pixel_gradients, side) * (height * width / side ** 2)


def _draw(genome: GenomeBatch, dst: torch.Tensor, src: torch.Tensor, weights: torch.Tensor,
          inputs: torch.Tensor, outputs: int) -> torch.Tensor:
    """(outputs, H*W): the genome's image as a function of ``weights`` (one per connection
    ``src`` -> ``dst``), node by node in ascending ``order`` (its topological key)."""
    values: dict[int, torch.Tensor] = {slot: inputs[slot] for slot in range(NUM_INPUTS)}
    nodes = genome["alive"].nonzero().squeeze(1).tolist()
    order = genome["order"]
    activation = genome["activation"]
    for node in sorted((n for n in nodes if n >= NUM_INPUTS), key=lambda n: float(order[n])):
        incoming = (dst == node).nonzero().squeeze(1)
        if incoming.numel() == 0:
            z = torch.zeros_like(inputs[0])
        else:
            sources = torch.stack([values[int(s)] for s in src[incoming]])
            z = (weights[incoming].unsqueeze(1) * sources).sum(0)
        values[node] = ACTIVATION_FUNCTIONS[int(activation[node])](z)
    image = torch.stack([values[NUM_INPUTS + channel] for channel in range(outputs)])
    return image.abs().clamp(max=1.0)

