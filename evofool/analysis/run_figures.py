"""A run's figures, drawn from its store and metrics: what ``evofool plot`` writes and what
``Run.montage()`` and ``Run.curve()`` show inline in a notebook."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from evofool.analysis.plots import (
    champion_montage,
    class_bars,
    confidence_curves,
    montage_caption,
    read_metrics,
)
from evofool.run.stored import StoredRun

MONTAGE_LIMIT = 100  # champions; a larger run's montage shows its most confident


def run_figures(run_dir: Path) -> dict[str, Figure]:
    """``montage.png`` (the champions of the classes in play, captioned), ``confidence.png``
    (the curves per generation) and ``classes.png`` (confidence per class), by file name."""
    run = StoredRun(run_dir)
    try:
        in_play = set(run.store.classes_in_play())
        champions = [c for c in run.champions() if c.class_index in in_play]
        shown = sorted(champions, key=lambda c: -c.confidence)[:MONTAGE_LIMIT] \
            if len(champions) > MONTAGE_LIMIT else champions
        images = run.render([champion.genome_id for champion in shown])
        captions = [montage_caption(run.class_names[c.class_index], c.confidence) for c in shown]
        return {
            "montage.png": champion_montage(images, captions),
            "confidence.png": confidence_curves(read_metrics(run_dir), len(in_play)),
            "classes.png": class_bars([run.class_names[c.class_index] for c in champions],
                                      [c.confidence for c in champions]),
        }
    finally:
        run.close()
