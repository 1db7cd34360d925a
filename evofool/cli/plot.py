"""``evofool plot RUN_DIR``: a run's figures as PNG files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evofool.archive.confidence import FOOLED_THRESHOLD
from evofool.files.atomic import write_atomically


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
    from evofool.analysis.run_figures import run_figures
    from evofool.api.retrain import experiment_figures
    from evofool.store.retrain_layout import is_retrain_dir

    out = args.out or args.run_dir / "plots"
    figures = experiment_figures(args.run_dir) if is_retrain_dir(args.run_dir) \
        else run_figures(args.run_dir)
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
