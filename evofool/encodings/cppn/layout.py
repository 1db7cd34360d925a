"""Where each node lives in a CPPN genome's fixed-capacity slot arrays.

A population of CPPNs is a ``GenomeBatch`` of padded tensors, one row per genome:

    alive      (P, S) bool     the slot holds a node
    activation (P, S) int8     activation code (see ``activations``)
    order      (P, S) float32  topological key: inputs 0, outputs 1, hidden between
    connected  (P, S, S) bool  [dst, src] a connection src -> dst exists
    weight     (P, S, S) float32 [dst, src] its weight (0 where none)

Slots 0-3 are the inputs x, y, d (distance from the centre) and bias; the
next ``outputs`` slots are the outputs; the rest hold hidden nodes. A new
connection must go from a lower to a strictly higher ``order``, which keeps
every network feed-forward. Unused slots and absent connections hold zeros,
so equal networks have equal tensors and serialisation round-trips exactly.
"""

from __future__ import annotations

INPUT_NAMES = ("x", "y", "d", "bias")
NUM_INPUTS = len(INPUT_NAMES)


def first_hidden_slot(outputs: int) -> int:
    return NUM_INPUTS + outputs


def capacity(outputs: int, max_hidden: int) -> int:
    return NUM_INPUTS + outputs + max_hidden
