"""Confidences as people read them, and what "fooled" means (defined here only).

A class is *fooled* when its champion reaches FOOLED_THRESHOLD (0.99) in the
value the search competes on: the model's probability for the class, or 0 for
a champion a detector gate flags (it has not fooled both), counted over the
classes the search fills (``Search.classes_in_play``). metrics.csv, summary.json,
plots, the browser, n+1 rounds, defences and export all count or filter with
this threshold and spell their keys as below (FOOLED_KEY, FOOLED_SHARE_KEY,
ALL_FOOLED_KEY); the browser's pages take them from here too. The nines matter, so
confidences are never rounded away.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from typing import Any

FOOLED_THRESHOLD = 0.99
STRICT_THRESHOLD = 0.9999  # the paper's bar for a fooling image (>= 99.99 %), shown beside


def count_key(threshold: float) -> str:
    """How tables spell the count of classes at ``threshold`` or above."""
    return f"classes_at_{threshold:g}"


# How every table, summary, page and API spells the fooled count, the share of images still
# fooled (after a defence) and the generation by which every class was fooled.
FOOLED_KEY = count_key(FOOLED_THRESHOLD)
FOOLED_SHARE_KEY = f"share_at_{FOOLED_THRESHOLD:g}"
ALL_FOOLED_KEY = f"generations_to_all_at_{FOOLED_THRESHOLD:g}"
FOOLED_COST_KEY = f"evaluations_to_{FOOLED_THRESHOLD:g}"  # a class's cost, in summary.json


def fooled_keys() -> dict[str, str]:
    """The threshold and the keys, as the browser's pages read them (data- attributes)."""
    return {"threshold": f"{FOOLED_THRESHOLD:g}", "key": FOOLED_KEY,
            "share_key": FOOLED_SHARE_KEY, "all_key": ALL_FOOLED_KEY}


def format_confidence(value: float) -> str:
    """Enough digits to show the nines (0.99995 is not "1.0000"); an exact 1 says so.

    At least 4 decimals, one more than the nines in the value, at most 9; float32
    softmax reaches exactly 1.0 for saturated champions.
    """
    if value >= 1:
        return "1 (saturated)"
    digits = min(9, max(4, math.ceil(-math.log10(1 - value)) + 1)) if value > 0 else 4
    return f"{value:.{digits}f}"


def classes_fooled(values: Iterable[float]) -> int:
    """How many of these per-class values reach FOOLED_THRESHOLD: the count every report
    carries under FOOLED_KEY."""
    return sum(value >= FOOLED_THRESHOLD for value in values)


def median_confidence(values: Iterable[float]) -> float | None:
    """The median everywhere evofool reports one (metrics.csv, progress lines, plots,
    summary.json, the browser, n+1 rounds): the middle value, or the mean of the two
    middle values for an even count; None for none."""
    values = list(values)
    return statistics.median(values) if values else None


def generations_to_all_fooled(history: Iterable[Any], classes: int) -> int | None:
    """The generation by which each of ``classes`` classes had a champion at
    FOOLED_THRESHOLD, from champion records (``class_index``, ``generation``,
    ``confidence``); None if some class never had one."""
    first: dict[int, int] = {}
    for entry in history:
        if entry.confidence >= FOOLED_THRESHOLD:
            first.setdefault(entry.class_index, entry.generation)
    return max(first.values()) if len(first) == classes else None
