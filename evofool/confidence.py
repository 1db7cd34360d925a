"""Confidences as people read them: the nines matter, so they are never rounded away."""

from __future__ import annotations

import math


def format_confidence(value: float) -> str:
    """Enough digits to show the nines (0.99995 is not "1.0000"); an exact 1 says so.

    At least 4 decimals, one more than the nines in the value, at most 9; float32
    softmax reaches exactly 1.0 for saturated champions.
    """
    if value >= 1:
        return "1 (saturated)"
    digits = min(9, max(4, math.ceil(-math.log10(1 - value)) + 1)) if value > 0 else 4
    return f"{value:.{digits}f}"
