"""A population of CPPNs as one flat program: the nodes to compute, in order, and their wiring.

Both batched renderers start here. Only nodes some output depends on are
computed (dangling nodes cannot change the image); each node's depth is its
longest path from the inputs, so sorting by depth is a topological order.

``build_program`` also gives each node a *kind* from the inputs it depends on
through any path: ``X`` (x only), ``Y`` (y only), ``CONST`` (neither: bias
alone) or ``FULL`` (d, or both x and y). An ``X`` node's value is the same down
every column of the image, so it need only be drawn along one row of W pixels;
in evolved ImageNet genomes about half the computed nodes are of the three
cheap kinds (see BENCHMARKS.md, "The CPPN renderer").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from evofool.encodings.cppn.layout import NUM_INPUTS, first_hidden_slot
from evofool.encodings.genome_batch import GenomeBatch

CONST, X, Y, FULL = range(4)
INPUT_KINDS = (X, Y, FULL, CONST)  # x, y, d, bias
INPUT_ROWS = NUM_INPUTS  # each genome's rows start with its own copy of the inputs


@dataclass(frozen=True)
class RenderProgram:
    """Rows: each genome's inputs, then its computed nodes by depth; all tensors on the CPU.

    genome_rows (P + 1,) int64: genome g owns rows [genome_rows[g], genome_rows[g + 1]).
    kind, activation (rows,) int64: see the module docstring and ``activations``.
    edge_starts (rows + 1,) int64: row r's incoming connections are
        edge_src[edge_starts[r]:edge_starts[r + 1]] (rows of the same genome, all
        earlier) with weights edge_weight (float32), in ascending source slot.
    output_rows (P, outputs) int64: the row of each output node.
    """

    genome_rows: torch.Tensor
    kind: torch.Tensor
    activation: torch.Tensor
    edge_starts: torch.Tensor
    edge_src: torch.Tensor
    edge_weight: torch.Tensor
    output_rows: torch.Tensor


@dataclass(frozen=True)
class ComputedGraph:
    """Every genome's nodes flattened to ids ``genome * slots + slot``: which are computed
    (non-input nodes some output depends on), their depth, and the connections into them
    (``edge_src`` -> ``edge_dst`` with ``edge_weight``, by genome, then destination slot)."""

    slot_of_node: torch.Tensor
    computed: torch.Tensor
    depth: torch.Tensor
    edge_src: torch.Tensor
    edge_dst: torch.Tensor
    edge_weight: torch.Tensor


def computed_graph(genomes: GenomeBatch, *, outputs: int) -> ComputedGraph:
    """What both batched renderers start from, on the genomes' device."""
    count, slots = genomes["alive"].shape
    genome, dst, src = genomes["connected"].nonzero(as_tuple=True)
    edge_src, edge_dst = genome * slots + src, genome * slots + dst
    edge_weight = genomes["weight"][genome, dst, src]
    slot_of_node = torch.arange(slots, device=edge_src.device).repeat(count)
    computed = feeds_an_output(slot_of_node < first_hidden_slot(outputs), edge_src, edge_dst)
    computed &= slot_of_node >= NUM_INPUTS
    keep = computed[edge_dst]
    edge_src, edge_dst, edge_weight = edge_src[keep], edge_dst[keep], edge_weight[keep]
    return ComputedGraph(slot_of_node, computed, longest_paths(computed, edge_src, edge_dst),
                         edge_src, edge_dst, edge_weight)


def build_program(genomes: GenomeBatch, *, outputs: int) -> RenderProgram:
    genomes = {key: value.cpu() for key, value in genomes.items()}
    count, slots = genomes["alive"].shape
    graph = computed_graph(genomes, outputs=outputs)
    slot_of_node, computed, depth = graph.slot_of_node, graph.computed, graph.depth
    edge_src, edge_dst, edge_weights = graph.edge_src, graph.edge_dst, graph.edge_weight
    is_input = slot_of_node < NUM_INPUTS
    in_program = computed | is_input
    node_ids = in_program.nonzero().squeeze(1)  # by genome, then slot
    node_ids = node_ids[torch.argsort(node_ids // slots * (slots + 1) + depth[node_ids],
                                      stable=True)]
    row_of = torch.full((count * slots,), -1, dtype=torch.long)
    row_of[node_ids] = torch.arange(node_ids.numel())
    genome_rows = torch.zeros(count + 1, dtype=torch.long)
    genome_rows[1:] = torch.bincount(node_ids // slots, minlength=count).cumsum(0)

    edge_rows = row_of[edge_dst]
    by_row = torch.argsort(edge_rows, stable=True)
    edge_starts = torch.zeros(node_ids.numel() + 1, dtype=torch.long)
    edge_starts[1:] = torch.bincount(edge_rows, minlength=node_ids.numel()).cumsum(0)
    output_slots = (torch.arange(count).unsqueeze(1) * slots
                    + torch.arange(NUM_INPUTS, first_hidden_slot(outputs)))
    return RenderProgram(
        genome_rows=genome_rows,
        kind=node_kinds(is_input, slot_of_node, edge_src, edge_dst)[node_ids],
        activation=genomes["activation"].reshape(-1)[node_ids].long(),
        edge_starts=edge_starts, edge_src=row_of[edge_src][by_row],
        edge_weight=edge_weights[by_row].contiguous(),
        output_rows=row_of[output_slots])


def feeds_an_output(is_output: torch.Tensor, edge_src: torch.Tensor,
                    edge_dst: torch.Tensor) -> torch.Tensor:
    """Flat node mask: outputs, and every node with a path to one."""
    needed = is_output.clone()
    while True:
        grown = needed.index_put((edge_src,), needed[edge_dst], accumulate=True)
        if torch.equal(grown, needed):
            return needed
        needed = grown


def longest_paths(computed: torch.Tensor, edge_src: torch.Tensor,
                  edge_dst: torch.Tensor) -> torch.Tensor:
    """Flat depth: 0 for inputs and skipped nodes, else 1 + the deepest source."""
    depth = computed.int()
    while True:
        deeper = depth.scatter_reduce(0, edge_dst, depth[edge_src] + 1, "amax")
        if torch.equal(deeper, depth):
            return depth
        depth = deeper


def node_kinds(is_input: torch.Tensor, slot_of_node: torch.Tensor, edge_src: torch.Tensor,
               edge_dst: torch.Tensor) -> torch.Tensor:
    """Flat kind of every node from which of x, y, d reach it along the edges."""
    reaches = torch.zeros(slot_of_node.numel(), 3, dtype=torch.int8)
    for column in range(3):  # x, y, d are slots 0, 1, 2
        reaches[:, column] = (is_input & (slot_of_node == column)).to(torch.int8)
    index = edge_dst.unsqueeze(1).expand(-1, 3)
    while True:
        grown = reaches.scatter_reduce(0, index, reaches[edge_src], "amax")
        if torch.equal(grown, reaches):
            break
        reaches = grown
    x, y, d = reaches.bool().unbind(1)
    kind = torch.full_like(slot_of_node, CONST)
    kind[x & ~y] = X
    kind[y & ~x] = Y
    kind[d | (x & y)] = FULL
    return kind
