"""Crossover of CPPNs that share slots: the child keeps its parent's shape, and takes
weights and node functions from its mate where both have them.

Genomes in a run descend from the same inputs-to-outputs start and fill
hidden slots from the front, so a slot and a connection between two slots
often carry the same role in two genomes of a lineage (the alignment NEAT
gets from innovation numbers, here by position). The child's structure is its
parent's, so it stays feed-forward whatever the mate; what crosses over is the
value of each shared gene, each taken from the mate with probability 1/2.
"""

from __future__ import annotations

import torch

from evofool.encodings.genome_batch import GenomeBatch
from evofool.randomness import RunRandomness


def aligned_crossover(parents: GenomeBatch, mates: GenomeBatch, crossing: torch.Tensor,
                      rng: RunRandomness) -> GenomeBatch:
    """Children of ``parents`` (a new batch); rows where ``crossing`` (B,) is False are copies.

    Each connection present in both a parent and its mate takes the mate's
    weight with probability 1/2, and each hidden or output node alive in both
    the mate's function with probability 1/2.
    """
    child = {key: value.clone() for key, value in parents.items()}
    shared_edges = parents["connected"] & mates["connected"] & crossing.view(-1, 1, 1)
    from_mate = shared_edges & (rng.uniform(*shared_edges.shape) < 0.5)
    child["weight"] = torch.where(from_mate, mates["weight"], parents["weight"])
    shared_nodes = parents["alive"] & mates["alive"] & crossing.view(-1, 1)
    take_function = shared_nodes & (rng.uniform(*shared_nodes.shape) < 0.5)
    child["activation"] = torch.where(take_function, mates["activation"], parents["activation"])
    return child
