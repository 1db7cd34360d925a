"""Confidences as people read them: the nines matter, so they are never rounded away."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

from evofool.archive.champions import COST_THRESHOLD

FOOLED_KEY = "classes_at_0.99"  # how every table, summary and API spells the count


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
    """How many of these per-class confidences reach ``COST_THRESHOLD`` (0.99): the count
    every report carries under ``FOOLED_KEY``."""
    return sum(value >= COST_THRESHOLD for value in values)


def median_confidence(values: Iterable[float]) -> float | None:
    """The median everywhere evofool reports one (metrics.csv, progress lines, plots,
    summary.json, the browser, n+1 rounds): the middle value, or the mean of the two
    middle values for an even count; None for none."""
    values = list(values)
    return statistics.median(values) if values else None
