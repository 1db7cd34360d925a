"""Drawing CPPNs: the whole population at once, and a plain per-genome reference.

The batched renderer groups nodes by depth (longest path from the inputs):
all nodes of one depth, across all genomes, are computed together from a
flat list of their incoming connections, so the number of sequential steps
is the deepest network's depth, not the number of genomes or nodes.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from evofool.encodings.cppn.activations import ACTIVATION_NAMES, activate
from evofool.encodings.cppn.layout import NUM_INPUTS, first_hidden_slot
from evofool.encodings.genome_batch import GenomeBatch


@functools.cache
def coordinate_inputs(height: int, width: int, device: torch.device) -> torch.Tensor:
    """(4, H*W): x and y on a [-1, 1] grid, d = sqrt(x^2 + y^2), and a bias of 1."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, height, device=device),
                          torch.linspace(-1, 1, width, device=device), indexing="ij")
    distance = torch.sqrt(x * x + y * y)
    return torch.stack([x, y, distance, torch.ones_like(x)]).view(NUM_INPUTS, -1)


def render_population(genomes: GenomeBatch, *, outputs: int, height: int,
                      width: int) -> torch.Tensor:
    """Images (P, outputs, H, W) in [0, 1]: each output's |value|, clipped at 1.

    Works on the flat list of every genome's connections rather than on the
    padded weight matrices, and only on nodes some output depends on: cost
    grows with the connections that matter, not with slot capacity.
    """
    alive, connected = genomes["alive"], genomes["connected"]
    count, slots = alive.shape
    device = alive.device
    pixels = height * width
    genome, dst, src = connected.nonzero(as_tuple=True)
    edge_src, edge_dst = genome * slots + src, genome * slots + dst
    edge_weights = genomes["weight"][genome, dst, src]
    slot_of_node = torch.arange(slots, device=device).repeat(count)
    computed = _feeds_an_output(slot_of_node < first_hidden_slot(outputs), edge_src, edge_dst)
    computed &= slot_of_node >= NUM_INPUTS
    keep = computed[edge_dst]
    edge_src, edge_dst, edge_weights = edge_src[keep], edge_dst[keep], edge_weights[keep]
    depth = _longest_paths(computed, edge_src, edge_dst)

    # Rows of the value table: the 4 inputs (shared by every genome), then computed nodes.
    node_ids = computed.nonzero().squeeze(1)
    row_of = slot_of_node.clone()  # input nodes map to rows 0-3
    row_of[node_ids] = NUM_INPUTS + torch.arange(node_ids.numel(), device=device)
    values = torch.empty(NUM_INPUTS + node_ids.numel(), pixels, device=device)
    values[:NUM_INPUTS] = coordinate_inputs(height, width, device)
    pre_activation = torch.zeros_like(values)
    edge_src_rows, edge_dst_rows = row_of[edge_src], row_of[edge_dst]
    codes = genomes["activation"].reshape(-1)
    levels = int(depth.max()) if node_ids.numel() else 0
    edge_groups = _group_by_level(depth[edge_dst], levels)
    node_groups = _group_by_level(depth[node_ids], levels)
    for edges, nodes in zip(edge_groups, node_groups, strict=True):
        contributions = values.index_select(0, edge_src_rows[edges]).mul_(
            edge_weights[edges].unsqueeze(1))
        pre_activation.index_add_(0, edge_dst_rows[edges], contributions)
        rows = row_of[node_ids[nodes]]
        values.index_copy_(0, rows, activate(pre_activation.index_select(0, rows),
                                             codes[node_ids[nodes]]))
    output_ids = (torch.arange(count, device=device).unsqueeze(1) * slots
                  + torch.arange(NUM_INPUTS, first_hidden_slot(outputs), device=device))
    images = values.index_select(0, row_of[output_ids.view(-1)])
    return images.abs_().clamp_(max=1.0).view(count, outputs, height, width)


def _feeds_an_output(is_output: torch.Tensor, edge_src: torch.Tensor,
                     edge_dst: torch.Tensor) -> torch.Tensor:
    """Flat node mask: outputs, and every node with a path to one.

    Nodes left dangling by deleted connections cannot change the image, so
    they are never computed.
    """
    needed = is_output.clone()
    while True:
        grown = needed.index_put((edge_src,), needed[edge_dst], accumulate=True)
        if torch.equal(grown, needed):
            return needed
        needed = grown


def _longest_paths(computed: torch.Tensor, edge_src: torch.Tensor,
                   edge_dst: torch.Tensor) -> torch.Tensor:
    """Flat depth: 0 for inputs and skipped nodes, else 1 + the deepest source."""
    depth = computed.int()
    while True:
        deeper = depth.scatter_reduce(0, edge_dst, depth[edge_src] + 1, "amax")
        if torch.equal(deeper, depth):
            return depth
        depth = deeper


def _group_by_level(levels: torch.Tensor, count: int) -> list[torch.Tensor]:
    """Positions of ``levels`` (values 1..count) split into one index tensor per level."""
    order = torch.argsort(levels, stable=True)
    sizes = torch.bincount(levels - 1, minlength=count).tolist()
    return list(torch.split(order, sizes))


def render_reference(record: dict[str, Any], *, height: int, width: int) -> torch.Tensor:
    """One genome record (see ``records``) drawn node by node: (outputs, H, W).

    Deliberately simple (Kahn's topological sort, one node at a time) so it
    can check the batched renderer.
    """
    inputs = coordinate_inputs(height, width, torch.device("cpu"))
    values = {slot: inputs[slot] for slot in range(NUM_INPUTS)}
    incoming: dict[int, list[tuple[int, float]]] = {node["id"]: [] for node in record["nodes"]}
    for src, dst, weight in record["connections"]:
        incoming[dst].append((src, weight))
    activation = {node["id"]: ACTIVATION_NAMES.index(node["activation"])
                  for node in record["nodes"]}
    pending = set(incoming)
    while pending:
        ready = sorted(n for n in pending if all(src in values for src, _ in incoming[n]))
        for node in ready:
            z = torch.zeros(height * width)
            for src, weight in incoming[node]:
                z = z + torch.tensor(weight, dtype=torch.float32) * values[src]
            code = torch.tensor([activation[node]])
            values[node] = activate(z.unsqueeze(0), code)[0]
            pending.discard(node)
    outputs = [values[NUM_INPUTS + index] for index in range(record["outputs"])]
    return torch.stack(outputs).abs().clamp(max=1.0).view(-1, height, width)
