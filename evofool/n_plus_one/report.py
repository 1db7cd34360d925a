"""The n+1 experiment's per-round table, as CSV and JSON, and the figure of its trends."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from evofool.files.atomic import write_atomically
from evofool.n_plus_one.store import RetrainStore


def round_table(store: RetrainStore, detectors: list[str]) -> list[dict[str, Any]]:
    """One row per round; the held-out AUROC as one column per detector."""
    trainings = store.trainings()
    rows = []
    for record in store.rounds():
        row = record.as_row()
        auroc = row.pop("held_out_auroc") or {}
        rows.append({**row, **{f"held_out_auroc_{name}": auroc.get(name) for name in detectors},
                     "train_seconds": trainings.get(record.round, {}).get("seconds")})
    return rows


def write_report(directory: Path, table: list[dict[str, Any]], *, natural_classes: int) -> None:
    """``rounds.csv``, ``rounds.json`` and ``rounds.png`` in ``directory``, each atomically."""
    # matplotlib loads here, where a figure is drawn: ``evofool run`` imports this module
    # (through evofool.api) and would otherwise spend half a second loading it
    from evofool.analysis.figure_style import to_png
    from evofool.analysis.plots import rounds_figure

    if not table:
        return
    rows = io.StringIO()
    writer = csv.DictWriter(rows, fieldnames=list(table[0]))
    writer.writeheader()
    writer.writerows(table)
    write_atomically(directory / "rounds.csv", rows.getvalue())
    write_atomically(directory / "rounds.json", json.dumps(table, indent=2))
    write_atomically(directory / "rounds.png", to_png(rounds_figure(table, natural_classes)))
