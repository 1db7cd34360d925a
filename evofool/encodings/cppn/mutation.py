"""Random CPPNs and their mutation, vectorised over the whole population.

Each structural edit picks, per genome, one uniformly random candidate (a
free pair of nodes, a connection, a hidden node) from masked random scores,
so a generation of children is mutated by a few tensor operations rather
than a Python loop over genomes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from evofool.encodings.cppn.activations import ACTIVATION_NAMES
from evofool.encodings.cppn.layout import NUM_INPUTS, capacity, first_hidden_slot
from evofool.encodings.genome_batch import GenomeBatch
from evofool.encodings.variation import polynomial_mutation
from evofool.randomness import RunRandomness


@dataclass(frozen=True)
class CppnMutationRates:
    """Per-child probabilities of each edit; defaults are the original code's.

    ``weight`` and ``activation`` are per connection and per node.
    """

    add_connection: float = 0.5
    delete_connection: float = 0.3
    add_node: float = 0.5
    delete_node: float = 0.2
    weight: float = 0.1
    activation: float = 0.1


def random_genomes(count: int, *, outputs: int, max_hidden: int, weight_bound: float,
                   rng: RunRandomness) -> GenomeBatch:
    """Networks with every input wired straight to every output and no hidden node."""
    slots = capacity(outputs, max_hidden)
    device = rng.device
    alive = torch.zeros(count, slots, dtype=torch.bool, device=device)
    alive[:, :first_hidden_slot(outputs)] = True
    order = torch.zeros(count, slots, device=device)
    order[:, NUM_INPUTS:first_hidden_slot(outputs)] = 1.0
    activation = torch.zeros(count, slots, dtype=torch.int8, device=device)
    activation[:, NUM_INPUTS:first_hidden_slot(outputs)] = _random_codes(rng, count, outputs)
    connected = torch.zeros(count, slots, slots, dtype=torch.bool, device=device)
    connected[:, NUM_INPUTS:first_hidden_slot(outputs), :NUM_INPUTS] = True
    weight = torch.zeros(count, slots, slots, device=device)
    weight[connected] = rng.uniform(int(connected.sum()), low=-weight_bound, high=weight_bound)
    return {"alive": alive, "activation": activation, "order": order,
            "connected": connected, "weight": weight}


def mutate(genomes: GenomeBatch, *, outputs: int, rates: CppnMutationRates, weight_bound: float,
           eta: float | torch.Tensor, rng: RunRandomness) -> GenomeBatch:
    """A mutated copy of ``genomes``: weights, activations, then the four structural edits.

    The edits work on views of the slots in use (hidden slots fill from the
    front, plus one free slot for a new node), so their cost follows the
    largest genome in the batch rather than the slot capacity.
    """
    child = {key: value.clone() for key, value in genomes.items()}
    hidden_from = first_hidden_slot(outputs)
    used = min(child["alive"].shape[1], int(child["alive"].any(dim=0).nonzero().max()) + 2)
    view = {key: value[:, :used, :used] if value.ndim == 3 else value[:, :used]
            for key, value in child.items()}
    view["weight"].copy_(polynomial_mutation(
        view["weight"], low=-weight_bound, high=weight_bound, eta=eta, rate=rates.weight,
        rng=rng, where=view["connected"]))
    _resample_activations(view, rates.activation, rng)
    count = child["alive"].shape[0]
    _add_connections(view, rng.uniform(count) < rates.add_connection, weight_bound, rng)
    _delete_connections(view, rng.uniform(count) < rates.delete_connection, rng)
    _add_nodes(view, rng.uniform(count) < rates.add_node, hidden_from, rng)
    _delete_nodes(view, rng.uniform(count) < rates.delete_node, hidden_from, rng)
    return child


def _random_codes(rng: RunRandomness, *shape: int) -> torch.Tensor:
    return rng.integers(len(ACTIVATION_NAMES), *shape).to(torch.int8)


def _pick_connection(connected: torch.Tensor, rng: RunRandomness
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per genome, a uniformly random existing connection: (dst, src, whether any exists).

    Works on the list of connections (a few dozen per genome), not the S x S matrix.
    """
    count = connected.shape[0]
    genome, dst, src = connected.nonzero(as_tuple=True)
    per_genome = torch.bincount(genome, minlength=count)
    first = per_genome.cumsum(0) - per_genome
    k = (rng.uniform(count) * per_genome).long().clamp_(max=(per_genome - 1).clamp(min=0))
    chosen = (first + k).clamp_(max=max(genome.numel() - 1, 0))
    if genome.numel() == 0:
        return per_genome, per_genome, per_genome > 0
    return dst[chosen], src[chosen], per_genome > 0


def _pick(candidates: torch.Tensor, rng: RunRandomness) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row, a uniformly random True column of ``candidates`` (P, M), and whether any exists.

    Draws one number per row (not per candidate): the k-th True column, k uniform.
    """
    running = candidates.cumsum(dim=1, dtype=torch.int32)
    counts = running[:, -1]
    k = (rng.uniform(candidates.shape[0]) * counts).long().clamp_(max=(counts - 1).clamp(min=0))
    return (running > k.unsqueeze(1)).int().argmax(dim=1), counts > 0


def _resample_activations(genomes: GenomeBatch, rate: float, rng: RunRandomness) -> None:
    alive = genomes["alive"]
    resample = alive & (rng.uniform(*alive.shape) < rate)
    resample[:, :NUM_INPUTS] = False
    genomes["activation"].copy_(torch.where(resample, _random_codes(rng, *alive.shape),
                                            genomes["activation"]))


def _add_connections(genomes: GenomeBatch, wanted: torch.Tensor, weight_bound: float,
                     rng: RunRandomness) -> None:
    alive, order, connected = genomes["alive"], genomes["order"], genomes["connected"]
    count, slots = alive.shape
    # Feed-forward only: src must sit strictly before dst in topological order.
    free = (alive.unsqueeze(2) & alive.unsqueeze(1)
            & (order.unsqueeze(1) < order.unsqueeze(2)) & ~connected)
    pair, possible = _pick(free.view(count, -1), rng)
    rows = (wanted & possible).nonzero().squeeze(1)
    dst, src = pair[rows] // slots, pair[rows] % slots
    weights = rng.uniform(count, low=-weight_bound, high=weight_bound)[rows]
    connected[rows, dst, src] = True
    genomes["weight"][rows, dst, src] = weights


def _delete_connections(genomes: GenomeBatch, wanted: torch.Tensor, rng: RunRandomness) -> None:
    connected = genomes["connected"]
    dst, src, possible = _pick_connection(connected, rng)
    rows = (wanted & possible).nonzero().squeeze(1)
    dst, src = dst[rows], src[rows]
    connected[rows, dst, src] = False
    genomes["weight"][rows, dst, src] = 0.0


def _add_nodes(genomes: GenomeBatch, wanted: torch.Tensor, hidden_from: int,
               rng: RunRandomness) -> None:
    """Split a random connection src -> dst into src -> new (weight 1) -> dst (old weight)."""
    alive, connected, weight = genomes["alive"], genomes["connected"], genomes["weight"]
    count = alive.shape[0]
    dst, src, has_connection = _pick_connection(connected, rng)
    free_slots = ~alive[:, hidden_from:]
    free, has_free = free_slots.int().argmax(dim=1) + hidden_from, free_slots.any(dim=1)
    codes = _random_codes(rng, count)
    rows = (wanted & has_connection & has_free).nonzero().squeeze(1)
    dst, src, new = dst[rows], src[rows], free[rows]
    old_weight = weight[rows, dst, src]
    alive[rows, new] = True
    genomes["activation"][rows, new] = codes[rows]
    genomes["order"][rows, new] = (genomes["order"][rows, src] + genomes["order"][rows, dst]) / 2
    connected[rows, dst, src] = False
    weight[rows, dst, src] = 0.0
    connected[rows, new, src] = True
    weight[rows, new, src] = 1.0
    connected[rows, dst, new] = True
    weight[rows, dst, new] = old_weight


def _delete_nodes(genomes: GenomeBatch, wanted: torch.Tensor, hidden_from: int,
                  rng: RunRandomness) -> None:
    alive = genomes["alive"]
    victim, has_hidden = _pick(alive[:, hidden_from:], rng)
    rows = (wanted & has_hidden).nonzero().squeeze(1)
    node = victim[rows] + hidden_from
    alive[rows, node] = False
    genomes["activation"][rows, node] = 0
    genomes["order"][rows, node] = 0.0
    for key in ("connected", "weight"):
        genomes[key][rows, node, :] = 0
        genomes[key][rows, :, node] = 0
