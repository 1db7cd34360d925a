"""The n+1 experiment's per-round table as CSV and JSON, and one figure of its trends."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure  # no pyplot: no backend, no global state


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
    _plot(table, natural_classes, directory / "rounds.png")


def _plot(table: list[dict[str, Any]], natural_classes: int, path: Path) -> None:
    rounds = [row["round"] for row in table]

    def column(key: str) -> list[float]:
        return [float("nan") if row[key] is None else row[key] for row in table]

    figure = Figure(figsize=(13, 3.6), layout="constrained")
    axes = figure.subplots(1, 3)
    axes[0].plot(rounds, column("test_accuracy"), marker="o")
    axes[0].set(title="natural test accuracy", xlabel="round", ylabel="accuracy")
    axes[1].plot(rounds, column("earlier_garbage_share"), marker="o", color="tab:green")
    axes[1].set(title="earlier fooling images called garbage", xlabel="round",
                ylabel="share", ylim=(-0.02, 1.02))
    axes[2].plot(rounds, column("median_confidence"), marker="o", label="median best confidence")
    axes[2].plot(rounds, [row["classes_at_099"] / natural_classes for row in table],
                 marker="s", label="share of classes >= 0.99")
    axes[2].set(title="fooling success", xlabel="round", ylim=(-0.02, 1.02))
    axes[2].legend(loc="lower left", fontsize="small")
    for axis in axes:
        axis.grid(alpha=0.3)
        axis.xaxis.get_major_locator().set_params(integer=True)
    partial = path.with_name(path.name + ".partial")
    figure.savefig(partial, format="png", dpi=110)
    os.replace(partial, path)
