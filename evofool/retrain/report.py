"""The n+1 experiment's per-round table as CSV and JSON, and the figure of its trends."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from evofool.plots import rounds_figure, to_png


def write_report(directory: Path, table: list[dict[str, Any]], *, natural_classes: int) -> None:
    """``rounds.csv``, ``rounds.json`` and ``rounds.png`` in ``directory``, each atomically."""
    if not table:
        return
    partial = directory / "rounds.csv.partial"
    with open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    os.replace(partial, directory / "rounds.csv")
    partial = directory / "rounds.json.partial"
    partial.write_text(json.dumps(table, indent=2))
    os.replace(partial, directory / "rounds.json")
    partial = directory / "rounds.png.partial"
    partial.write_bytes(to_png(rounds_figure(table, natural_classes)))
    os.replace(partial, directory / "rounds.png")
