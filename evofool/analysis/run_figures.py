"""A run's figures, drawn from its store and metrics: what ``evofool plot`` writes and what
``Run.montage()`` and ``Run.curve()`` show inline in a notebook (each draws only its own)."""

from __future__ import annotations

from contextlib import closing
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
    return {"montage.png": montage_figure(run_dir), "confidence.png": curve_figure(run_dir),
            "classes.png": classes_figure(run_dir)}


def montage_figure(run_dir: Path) -> Figure:
    with closing(StoredRun(run_dir)) as run:
        champions = _champions_in_play(run)
        shown = sorted(champions, key=lambda c: -c.confidence)[:MONTAGE_LIMIT] \
            if len(champions) > MONTAGE_LIMIT else champions
        images = run.render([champion.genome_id for champion in shown])
        captions = [montage_caption(run.class_names[c.class_index], c.confidence) for c in shown]
    return champion_montage(images, captions)


def curve_figure(run_dir: Path) -> Figure:
    with closing(StoredRun(run_dir)) as run:
        classes = len(run.store.classes_in_play())
    return confidence_curves(read_metrics(run_dir), classes)


def classes_figure(run_dir: Path) -> Figure:
    with closing(StoredRun(run_dir)) as run:
        champions = _champions_in_play(run)
        return class_bars([run.class_names[c.class_index] for c in champions],
                          [c.confidence for c in champions])


def _champions_in_play(run: StoredRun) -> list:
    in_play = set(run.store.classes_in_play())
    return [champion for champion in run.champions() if champion.class_index in in_play]
