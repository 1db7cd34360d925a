"""CPPN genomes as JSON-ready records, exact both ways.

    {"outputs": 1,
     "nodes": [{"id": 4, "activation": "sin", "order": 1.0}, ...],   # outputs and hidden
     "connections": [[src, dst, weight], ...]}

Node ids are slot numbers (0-3 are the inputs x, y, d, bias). Weights and
orders are float32 values written as Python floats, which JSON keeps exactly.
"""

from __future__ import annotations

from typing import Any

import torch

from evofool.encodings.cppn.activations import ACTIVATION_NAMES
from evofool.encodings.cppn.layout import NUM_INPUTS, first_hidden_slot
from evofool.encodings.genome_batch import GenomeBatch


def to_record(genomes: GenomeBatch, index: int, *, outputs: int) -> dict[str, Any]:
    alive = genomes["alive"][index].cpu()
    activation = genomes["activation"][index].cpu()
    order = genomes["order"][index].cpu()
    connected = genomes["connected"][index].cpu()
    weight = genomes["weight"][index].cpu()
    nodes = [{"id": slot, "activation": ACTIVATION_NAMES[int(activation[slot])],
              "order": float(order[slot])}
             for slot in alive.nonzero().flatten().tolist() if slot >= NUM_INPUTS]
    connections = [[src, dst, float(weight[dst, src])]
                   for dst, src in connected.nonzero().tolist()]
    return {"outputs": outputs, "nodes": nodes, "connections": connections}


def from_record(record: dict[str, Any], *, outputs: int, slots: int) -> GenomeBatch:
    """A one-genome batch with ``slots`` slots; raises ValueError for a malformed record."""
    if record.get("outputs") != outputs:
        raise ValueError(f"genome has {record.get('outputs')} outputs, encoding has {outputs}")
    alive = torch.zeros(1, slots, dtype=torch.bool)
    alive[0, :NUM_INPUTS] = True
    activation = torch.zeros(1, slots, dtype=torch.int8)
    order = torch.zeros(1, slots)
    for node in record["nodes"]:
        slot = int(node["id"])
        if not NUM_INPUTS <= slot < slots:
            raise ValueError(f"node id {slot} outside slots {NUM_INPUTS}..{slots - 1}")
        alive[0, slot] = True
        activation[0, slot] = ACTIVATION_NAMES.index(node["activation"])
        order[0, slot] = float(node["order"])
    if not bool(alive[0, :first_hidden_slot(outputs)].all()):
        raise ValueError("genome lacks an output node")
    connected = torch.zeros(1, slots, slots, dtype=torch.bool)
    weight = torch.zeros(1, slots, slots)
    for src, dst, value in record["connections"]:
        if not (alive[0, src] and alive[0, dst]):
            raise ValueError(f"connection {src}->{dst} joins a missing node")
        connected[0, dst, src] = True
        weight[0, dst, src] = float(value)
    return {"alive": alive, "activation": activation, "order": order,
            "connected": connected, "weight": weight}
