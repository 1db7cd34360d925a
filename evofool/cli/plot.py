"""``evofool plot RUN_DIR``: a run's figures as PNG files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evofool.archive.confidence import FOOLED_THRESHOLD
from evofool.files.atomic import write_atomically

MONTAGE_LIMIT = 100  # champions; a larger run's montage shows its most confident


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plot", help="write a run's figures as PNG",
        description="Write montage.png (champions labelled with class and confidence), "
                    f"confidence.png (best/median/min and classes >= {FOOLED_THRESHOLD:g} over "
                    "generations) and "
                    "classes.png (champion confidence per class); for a retrain experiment, "
                    "rounds.png.")
    parser.add_argument("run_dir", type=Path, help="a run or retrain experiment directory")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: RUN_DIR/plots)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evofool.analysis.figure_style import to_png  # matplotlib: only when plotting
    from evofool.store.retrain_layout import is_retrain_dir

    out = args.out or args.run_dir / "plots"
    figures = _retrain_figures(args.run_dir) if is_retrain_dir(args.run_dir) \
        else _run_figures(args.run_dir)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        for name, figure in figures.items():
            write_atomically(out / name, to_png(figure))
    except BaseException:
        if created and not any(out.iterdir()):
            out.rmdir()  # a failed plot leaves no empty --out behind
        raise
    print(f"evofool: wrote {', '.join(figures)} to {out}", file=sys.stderr)
    print(json.dumps({"out": str(out), "files": sorted(figures)}))
    return 0


def _run_figures(run_dir: Path) -> dict:
    from evofool.analysis.plots import (
        champion_montage,
        class_bars,
        confidence_curves,
        montage_caption,
        read_metrics,
    )
    from evofool.run.stored import StoredRun

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


def _retrain_figures(directory: Path) -> dict:
    from evofool.analysis.plots import rounds_figure
    from evofool.retrain.store import RetrainStore

    store = RetrainStore(directory, read_only=True)
    try:
        table = [record.as_row() for record in store.rounds()]
        natural = len(store.get_meta("class_names"))
    finally:
        store.close()
    return {"rounds.png": rounds_figure(table, natural)}
