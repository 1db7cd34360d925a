"""The CPU renderer's compiled loops: each genome's nodes, one row of pixels at a time.

Input is a ``RenderProgram`` (see ``program``): every computed node of every
genome as a row with its kind, activation and incoming connections. Nodes that
depend on x only, y only, or on neither (the program's ``X``, ``Y``, ``CONST``
kinds, about half of an evolved network) are drawn once along a line of W or H
values (``draw_lines``); the rest are drawn one image row at a time
(``draw_rows``), reading the line nodes they use as a vector (x) or a number
(y, constants). For each node the sum of its inputs and its function are one
pass over a row that stays in cache, and the loops vectorise (``float32_math``).

Every pixel's value is computed by the same operations in the same order
whatever the row, thread or processor, so images do not depend on how the
work is split. The loops release the GIL; ``render_on_cpu`` shares genomes out
to threads.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from numba import njit

from evofool.encodings.cppn.activations import GAUSSIAN, LINEAR, SIGMOID, SIN
from evofool.encodings.cppn.float32_math import exp32, sin32
from evofool.encodings.cppn.grid import coordinate_inputs
from evofool.encodings.cppn.program import CONST, FULL, INPUT_ROWS, RenderProgram, X, Y

F = np.float32
GENOMES_PER_CHUNK = 16


@njit(inline="always")
def _activate(code, z, out):
    """out[:] = the node function ``code`` of z (see ``activations``)."""
    if code == SIN:
        for j in range(z.shape[0]):
            out[j] = sin32(z[j])
    elif code == SIGMOID:
        for j in range(z.shape[0]):
            out[j] = F(2.0) / (F(1.0) + exp32(-z[j])) - F(1.0)
    elif code == GAUSSIAN:
        for j in range(z.shape[0]):
            out[j] = exp32(-(z[j] * z[j]))
    elif code == LINEAR:
        for j in range(z.shape[0]):
            out[j] = min(max(z[j], F(-3.0)), F(3.0)) / F(3.0)


@njit(nogil=True, cache=True, error_model="numpy")
def draw_lines(first_genome, last_genome, genome_rows, kind, activation, edge_starts,
               edge_src, edge_weight, height, width, lines):
    """Fill ``lines`` for the X, Y and CONST nodes of genomes [first, last).

    An X row holds its value at each of the W x coordinates, a Y row at each
    of the H y coordinates, a CONST row one value (in column 0); the inputs'
    rows (the first four of a genome) are filled by the caller. Rows come in
    dependency order, and a line node's sources are of its own kind or constants.
    """
    for genome in range(first_genome, last_genome):
        for row in range(genome_rows[genome] + INPUT_ROWS, genome_rows[genome + 1]):
            node_kind = kind[row]
            if node_kind == FULL:
                continue
            length = width if node_kind == X else (height if node_kind == Y else 1)
            total = lines[row, :length]
            total[:] = F(0.0)
            for edge in range(edge_starts[row], edge_starts[row + 1]):
                src, weight = edge_src[edge], edge_weight[edge]
                if kind[src] == CONST:
                    scalar = weight * lines[src, 0]
                    for j in range(length):
                        total[j] += scalar
                else:
                    source = lines[src]
                    for j in range(length):
                        total[j] += weight * source[j]
            _activate(activation[row], total, total)


@njit(nogil=True, cache=True, error_model="numpy")
def draw_rows(first_genome, last_genome, genome_rows, kind, activation, edge_starts,
              edge_src, edge_weight, lines, distance, output_rows, table, z, images):
    """images[g] for genomes [first, last), one image row i at a time.

    For each FULL node, its inputs are summed into ``z`` (scratch, W) in the
    order of its connections and its function written to its row of ``table``
    (scratch: rows of the largest genome, W); table row 2 is d, read from the
    flat (H*W) ``distance``. Line nodes (``draw_lines``) are read from ``lines``.
    """
    height, width = images.shape[2], images.shape[3]
    for genome in range(first_genome, last_genome):
        base = genome_rows[genome]
        for i in range(height):
            table[2, :width] = distance[i * width:(i + 1) * width]
            for row in range(base + INPUT_ROWS, genome_rows[genome + 1]):
                if kind[row] != FULL:
                    continue
                total = z[:width]
                total[:] = F(0.0)
                for edge in range(edge_starts[row], edge_starts[row + 1]):
                    src, weight = edge_src[edge], edge_weight[edge]
                    src_kind = kind[src]
                    if src_kind == FULL:
                        source = table[src - base]
                        for j in range(width):
                            total[j] += weight * source[j]
                    elif src_kind == X:
                        for j in range(width):
                            total[j] += weight * lines[src, j]
                    else:
                        scalar = weight * lines[src, i if src_kind == Y else 0]
                        for j in range(width):
                            total[j] += scalar
                _activate(activation[row], total, table[row - base, :width])
            for channel in range(output_rows.shape[1]):
                row = output_rows[genome, channel]
                out = images[genome, channel, i]
                if kind[row] == FULL:
                    source = table[row - base]
                    for j in range(width):
                        out[j] = min(abs(source[j]), F(1.0))
                elif kind[row] == X:
                    for j in range(width):
                        out[j] = min(abs(lines[row, j]), F(1.0))
                else:
                    value = min(abs(lines[row, i if kind[row] == Y else 0]), F(1.0))
                    out[:] = value


def render_on_cpu(program: RenderProgram, *, height: int, width: int, threads: int,
                  out: torch.Tensor | None = None) -> torch.Tensor:
    """Images (P, outputs, H, W) in [0, 1], written to ``out`` where given (contiguous
    float32 of that shape; see ``image_buffer``); ``threads`` threads take chunks of
    genomes in turn.

    Genomes differ in size, so chunks are small (``GENOMES_PER_CHUNK``) and
    handed out as threads free up; which thread draws a genome changes no bit.
    """
    count, outputs = program.output_rows.shape
    arrays = [tensor.numpy() for tensor in (program.genome_rows, program.kind,
                                            program.activation, program.edge_starts,
                                            program.edge_src, program.edge_weight)]
    coordinates = coordinate_inputs(height, width, torch.device("cpu"))
    lines = np.zeros((int(program.genome_rows[-1]), max(height, width)), dtype=np.float32)
    starts = program.genome_rows[:-1].numpy()
    lines[starts, :width] = coordinates[0, :width].numpy()
    lines[starts + 1, :height] = coordinates[1, ::width].numpy()
    lines[starts + 3, 0] = 1.0
    distance = coordinates[2].numpy()
    output_rows = program.output_rows.numpy()
    images = torch.empty(count, outputs, height, width) if out is None else out
    sizes = program.genome_rows[1:] - program.genome_rows[:-1]
    largest = int(sizes.max()) if count else 0
    scratch = threading.local()

    def draw(first: int) -> None:
        last = min(first + GENOMES_PER_CHUNK, count)
        if not hasattr(scratch, "table"):
            scratch.table = np.empty((largest, width), dtype=np.float32)
            scratch.z = np.empty(width, dtype=np.float32)
        draw_lines(first, last, *arrays, height, width, lines)
        draw_rows(first, last, *arrays, lines, distance, output_rows, scratch.table,
                  scratch.z, images.numpy())

    chunks = range(0, count, GENOMES_PER_CHUNK)
    if threads <= 1 or len(chunks) <= 1:
        for first in chunks:
            draw(first)
    else:
        with ThreadPoolExecutor(min(threads, len(chunks))) as pool:
            for _ in pool.map(draw, chunks):
                pass
    return images
