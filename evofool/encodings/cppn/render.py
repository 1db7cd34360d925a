"""Drawing CPPNs: the whole population at once, and a plain per-genome reference.

Two batched renderers, both checked against the reference: a compiled kernel
for CPUs (``cpu_kernel``) and torch operations for other devices, which group
nodes by depth (longest path from the inputs) so the number of sequential
steps is the deepest network's depth, not the number of genomes or nodes.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from evofool.encodings.cppn.activations import ACTIVATION_FUNCTIONS, ACTIVATION_NAMES, activate
from evofool.encodings.cppn.cpu_kernel import render_on_cpu
from evofool.encodings.cppn.grid import coordinate_inputs
from evofool.encodings.cppn.layout import NUM_INPUTS, first_hidden_slot
from evofool.encodings.cppn.program import build_program, computed_graph
from evofool.encodings.genome_batch import GenomeBatch
from evofool.encodings.image_buffer import ImageBuffer


def render_population(genomes: GenomeBatch, *, outputs: int, height: int, width: int,
                      buffer: ImageBuffer | None = None) -> torch.Tensor:
    """Images (P, outputs, H, W) in [0, 1]: each output's |value|, clipped at 1.

    On a CPU the compiled kernel draws them (``cpu_kernel``: about 4x faster
    than the torch path there, see BENCHMARKS.md), into ``buffer`` where one is
    given; on other devices the torch path.
    """
    device = genomes["alive"].device
    if device.type == "cpu":
        count = genomes["alive"].shape[0]
        images = None if buffer is None else buffer.take(count, (outputs, height, width))
        return render_on_cpu(build_program(genomes, outputs=outputs), height=height,
                             width=width, threads=torch.get_num_threads(), out=images)
    return render_with_torch(genomes, outputs=outputs, height=height, width=width)


def render_with_torch(genomes: GenomeBatch, *, outputs: int, height: int,
                      width: int) -> torch.Tensor:
    """``render_population`` in torch operations, on the genomes' device (a GPU's path).

    Works on the flat list of every genome's connections rather than on the
    padded weight matrices, and only on nodes some output depends on, so cost
    grows with the connections that matter, not with slot capacity. Computed
    nodes get rows of one value table sorted by (depth, activation): a depth
    is then one contiguous block, computed as one sparse (CSR) product of its
    incoming weights with the table, and each activation a contiguous slice.
    """
    count, slots = genomes["alive"].shape
    device = genomes["alive"].device
    graph = computed_graph(genomes, outputs=outputs)
    slot_of_node, computed, depth = graph.slot_of_node, graph.computed, graph.depth
    edge_src, edge_dst, edge_weights = graph.edge_src, graph.edge_dst, graph.edge_weight

    node_ids = computed.nonzero().squeeze(1)
    functions = len(ACTIVATION_NAMES)
    block_key = depth[node_ids] * functions + genomes["activation"].reshape(-1)[node_ids]
    node_ids = node_ids[torch.argsort(block_key, stable=True)]
    levels = int(depth.max()) if node_ids.numel() else 0
    block_sizes = torch.bincount(block_key, minlength=(levels + 1) * functions).tolist()
    row_of = slot_of_node.clone()  # the inputs are rows 0-3, shared by every genome
    row_of[node_ids] = NUM_INPUTS + torch.arange(node_ids.numel(), device=device)
    table_rows = NUM_INPUTS + node_ids.numel()

    edge_rows = row_of[edge_dst]
    by_row = torch.argsort(edge_rows, stable=True)
    edge_src_rows, edge_weights = row_of[edge_src][by_row], edge_weights[by_row]
    edges_before_row = torch.zeros(table_rows + 1, dtype=torch.long, device=device)
    edges_before_row[1:] = torch.bincount(edge_rows, minlength=table_rows).cumsum(0)

    level_rows = [NUM_INPUTS]
    for level in range(1, levels + 1):
        level_rows.append(level_rows[-1] + sum(block_sizes[level * functions:
                                                           (level + 1) * functions]))
    level_edges = edges_before_row[level_rows].tolist()
    with warnings.catch_warnings():  # torch calls CSR tensors "beta"; this product is stable
        warnings.simplefilter("ignore", UserWarning)
        incoming = [torch.sparse_csr_tensor(
            edges_before_row[first_row:last_row + 1] - first_edge,
            edge_src_rows[first_edge:last_edge], edge_weights[first_edge:last_edge],
            size=(last_row - first_row, table_rows), check_invariants=False)
            for first_row, last_row, first_edge, last_edge in zip(
                level_rows, level_rows[1:], level_edges, level_edges[1:], strict=False)]
    output_ids = (torch.arange(count, device=device).unsqueeze(1) * slots
                  + torch.arange(NUM_INPUTS, first_hidden_slot(outputs), device=device))
    output_rows = row_of[output_ids.view(-1)]
    values = torch.empty(table_rows, height * width, device=device)
    values[:NUM_INPUTS] = coordinate_inputs(height, width, device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for level, matrix in enumerate(incoming, start=1):
            z = matrix @ values
            row = first_row = level_rows[level - 1]
            for code, size in enumerate(block_sizes[level * functions:(level + 1) * functions]):
                if size:
                    ACTIVATION_FUNCTIONS[code](z[row - first_row:row - first_row + size],
                                               out=values[row:row + size])
                    row += size
    images = values.index_select(0, output_rows)
    return images.abs_().clamp_(max=1.0).view(count, outputs, height, width)


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
