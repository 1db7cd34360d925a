"""Per-generation logs: ``metrics.csv`` always (TensorBoard too when it is installed), and
``screen.csv`` for a run that screens its children (evofool.evaluation.screen)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from evofool.archive.confidence import FOOLED_KEY
from evofool.store.layout import METRICS_FILE, SCREEN_FILE

# gradient_steps: images differentiated so far (algorithm.gradient), counted apart from
# evaluations; runs made before it have no such column
COLUMNS = ("generation", "evaluations", "best", "median", "min", FOOLED_KEY,
           "evaluations_per_s", "wall_seconds", "gradient_steps")
SCREEN_COLUMNS = ("generation", "screened", "confirmed", "true_improvers", "missed",
                  "decision", "expected_cost", "cost_ratio")


class MetricsLog:
    """Appends one row per generation; on resume, rows past the checkpoint are dropped first.

    ``file`` and ``columns`` name another per-generation log (screen.csv); only
    metrics.csv feeds TensorBoard.
    """

    def __init__(self, run_dir: Path, *, resume_from: int | None = None,
                 file: str = METRICS_FILE, columns: tuple[str, ...] = COLUMNS) -> None:
        self.path = run_dir / file
        if resume_from is not None and self.path.exists():
            with open(self.path, newline="") as stream:
                kept = [row for row in csv.DictReader(stream)
                        if int(row["generation"]) <= resume_from]
        else:
            kept = []
        self.stream = open(self.path, "w", newline="")
        self.writer = csv.DictWriter(self.stream, fieldnames=columns)
        self.writer.writeheader()
        self.writer.writerows(kept)
        self.stream.flush()
        self.tensorboard = _tensorboard_writer(run_dir) if file == METRICS_FILE else None

    def record(self, row: dict[str, Any]) -> None:
        self.writer.writerow(row)
        self.stream.flush()
        if self.tensorboard is not None:
            for name in COLUMNS[2:]:
                self.tensorboard.add_scalar(name, row[name], row["generation"])

    def close(self) -> None:
        self.stream.close()
        if self.tensorboard is not None:
            self.tensorboard.close()


def screen_totals(run_dir: Path) -> dict[str, Any] | None:
    """What ``screen.csv`` adds up to (None without one): children screened and confirmed,
    and over the audited generations the true improvements and the share missed."""
    path = run_dir / SCREEN_FILE
    if not path.exists():
        return None
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    audited = [row for row in rows if row["missed"] not in ("", None)]
    true = sum(int(row["true_improvers"]) for row in audited)
    missed = sum(int(row["missed"]) for row in audited)
    # rows written before screens decided per generation have no decision: all screened
    unscreened = sum(row.get("decision") == "exact" for row in rows)
    return {"screened": sum(int(row["screened"]) for row in rows),
            "confirmed": sum(int(row["confirmed"]) for row in rows),
            "generations_screened": len(rows) - unscreened,
            "generations_unscreened": unscreened,
            "audited_generations": len(audited), "true_improvements": true,
            "missed": missed, "missed_share": round(missed / true, 4) if true else None}


def latest_row(run_dir: Path) -> dict[str, str] | None:
    """The last row ``metrics.csv`` records, read from its tail (a live run's progress)."""
    path = run_dir / METRICS_FILE
    if not path.exists():
        return None
    with open(path, "rb") as stream:
        stream.seek(max(0, path.stat().st_size - 4096))
        lines = stream.read().decode(errors="replace").splitlines()
    for line in reversed(lines):
        values = line.split(",")
        if values[0].isdigit() and len(COLUMNS) - 1 <= len(values) <= len(COLUMNS):
            return dict(zip(COLUMNS, values, strict=False))
    return None



def _tensorboard_writer(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # the optional 'tensorboard' extra is not installed
        return None
    return SummaryWriter(log_dir=str(run_dir / "tensorboard"))
