"""How evofool draws: the logit confidence axis every confidence plot shares, and PNG
bytes from a figure (matplotlib's object API, no pyplot: no display, no global state,
safe in a web server's threads)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

# Confidence axes use a logit scale between these: on a linear axis 0.99 and 0.9999
# (the paper's two bars) are one pixel apart; on a logit axis as far apart as 0.5 and
# 0.99. float32's exact 1.0 is drawn at the ceiling, a labelled line below the axis's
# top, so a curve that saturates stays in sight instead of merging into the frame.
CONFIDENCE_FLOOR, CONFIDENCE_CEILING = 1e-4, 1 - 1e-7
CONFIDENCE_AXIS_TOP = 1 - 2e-8
CONFIDENCE_GRID = (0.99, 0.999, 0.9999)
CONFIDENCE_TICKS = (0.0001, 0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999)

def on_confidence_axis(values: Sequence[float]) -> list[float]:
    return [min(max(value, CONFIDENCE_FLOOR), CONFIDENCE_CEILING) for value in values]


def confidence_axis(axis: Any) -> None:
    axis.set_yscale("logit")
    axis.set_ylim(CONFIDENCE_FLOOR, CONFIDENCE_AXIS_TOP)
    axis.set_yticks([*CONFIDENCE_TICKS, CONFIDENCE_CEILING],
                    [*(f"{tick:g}" for tick in CONFIDENCE_TICKS), "1 (saturated)"])
    axis.axhline(CONFIDENCE_CEILING, color="black", linewidth=0.6, linestyle="--")
    axis.yaxis.set_minor_formatter(NullFormatter())
    for level in CONFIDENCE_GRID:
        axis.axhline(level, color="grey", linewidth=0.6, linestyle=":")
    axis.set_ylabel("confidence (logit scale)")


def to_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def shown_inline(figure: Figure) -> Figure:
    """``figure``, shown by Jupyter as a PNG even where pyplot (whose inline backend displays
    figures) was never imported: what the Python API returns."""
    figure._repr_png_ = lambda: to_png(figure)
    return figure
