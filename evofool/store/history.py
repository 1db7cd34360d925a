"""What a run's store keeps of replaced champions, so that long runs fit on a disk.

Keeping every replaced champion exactly is cheap for CPPN and MNIST genomes (a few
KB) but not for an ImageNet direct genome: 256x256x3 float32 is 786 KB, and a
5000-generation run replaces hundreds of thousands of champions (~390 GB). Under
the ``milestones`` policy a genome is exact while it is some class's champion (what
browse, export and a resume's store need); once replaced everywhere it keeps an
8-bit image (what PNGs, export and retraining see anyway) only if it was its
class's first champion at a confidence milestone, one per "nine" up to six
(0.9, 0.99, ..., 0.999999), at most 6 per class. Every other genome keeps its
lineage row (id, parent, generation) without an image. With half nines (12 per
class) a 5000-generation ImageNet direct store projected to 5.2 GB
(benchmarks/store_growth.py); whole nines keep it under 5 GB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from evofool.encodings.protocol import Encoding

@dataclass(frozen=True)
class StoreSettings:
    """What ``run.sqlite`` keeps of champions that were replaced (see evofool.store.history).

    all: every replaced champion's exact genome. milestones: current champions exact;
    a replaced one keeps an 8-bit image only if it was its class's first at a
    confidence milestone (0.9, 0.99, ...), the others keep their lineage only.
    auto: milestones for genomes over 64 KiB (ImageNet direct), else all.
    """

    history: Literal["auto", "all", "milestones"] = "auto"  # what replaced champions keep: above


NINES_PER_LEVEL = 1.0
TOP_LEVEL = 6  # six nines: 0.999999
AUTO_EXACT_LIMIT_BYTES = 64 * 1024  # above this a genome's history is kept at milestones


def milestone_level(confidence: float) -> int:
    """0 below 0.9, then one more per nine (0.99, 0.999, ...), up to TOP_LEVEL."""
    if confidence >= 1.0:
        return TOP_LEVEL
    nines = -math.log10(1.0 - confidence)
    return max(0, min(TOP_LEVEL, int(nines / NINES_PER_LEVEL + 1e-9)))


def keeps_every_genome(setting: str, encoding: Encoding) -> bool:
    """Whether a run's store keeps every replaced champion exactly (``store.history``):
    under ``auto``, unless the encoding stores fixed-size arrays larger than
    AUTO_EXACT_LIMIT_BYTES (a JSON record, like a CPPN's, holds only what the genome
    uses: a few KB)."""
    if setting == "auto":
        return encoding.record_format == "json" or encoding.genome_bytes <= AUTO_EXACT_LIMIT_BYTES
    return setting == "all"
