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
           eta: float, rng: RunRandomness) -> GenomeBatch:
    """A mutated copy of ``genomes``: weights, activations, then the four structural edits."""
    child = {key: value.clone() for key, value in genomes.items()}
    child["weight"] = polynomial_mutation(child["weight"], low=-weight_bound, high=weight_bound,
                                          eta=eta, rate=rates.weight, rng=rng,
                                          where=child["connected"])
    _resample_activations(child, rates.activation, rng)
    count = child["alive"].shape[0]
    hidden_from = first_hidden_slot(outputs)
    _add_connections(child, rng.uniform(count) < rates.add_connection, weight_bound, rng)
    _delete_connections(child, rng.uniform(count) < rates.delete_connection, rng)
    _add_nodes(child, rng.uniform(count) < rates.add_node, hidden_from, rng)
    _delete_nodes(child, rng.uniform(count) < rates.delete_node, hidden_from, rng)
    return child


def _random_codes(rng: RunRandomness, *shape: int) -> torch.Tensor:
    return rng.integers(len(ACTIVATION_NAMES), *shape).to(torch.int8)


def _pick(candidates: torch.Tensor, rng: RunRandomness) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row, a uniformly random True column of ``candidates`` (P, M), and whether any exists.

    Draws one number per row (not per candidate): the k-th True column, k uniform.
    """
    running = candidates.cumsum(dim=1)
    counts = running[:, -1]
    k = (rng.uniform(candidates.shape[0]) * counts).long().clamp_(max=(counts - 1).clamp(min=0))
    return (running > k.unsqueeze(1)).int().argmax(dim=1), counts > 0


def _resample_activations(genomes: GenomeBatch, rate: float, rng: RunRandomness) -> None:
    alive = genomes["alive"]
    resample = alive & (rng.uniform(*alive.shape) < rate)
    resample[:, :NUM_INPUTS] = False
    genomes["activation"] = torch.where(resample, _random_codes(rng, *alive.shape),
                                        genomes["activation"])


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
    count, slots, _ = connected.shape
    pair, possible = _pick(connected.view(count, -1), rng)
    rows = (wanted & possible).nonzero().squeeze(1)
    dst, src = pair[rows] // slots, pair[rows] % slots
    connected[rows, dst, src] = False
    genomes["weight"][rows, dst, src] = 0.0


def _add_nodes(genomes: GenomeBatch, wanted: torch.Tensor, hidden_from: int,
               rng: RunRandomness) -> None:
    """Split a random connection src -> dst into src -> new (weight 1) -> dst (old weight)."""
    alive, connected, weight = genomes["alive"], genomes["connected"], genomes["weight"]
    count, slots = alive.shape
    pair, has_connection = _pick(connected.view(count, -1), rng)
    free_slots = ~alive[:, hidden_from:]
    free, has_free = free_slots.int().argmax(dim=1) + hidden_from, free_slots.any(dim=1)
    codes = _random_codes(rng, count)
    rows = (wanted & has_connection & has_free).nonzero().squeeze(1)
    dst, src, new = pair[rows] // slots, pair[rows] % slots, free[rows]
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
