"""``evofool retrain CONFIG``: the paper's n+1 experiment, K rounds, unattended."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "retrain", help="the n+1 experiment: evolve, add a garbage class, retrain, K rounds",
        description="Run the paper's n+1 experiment into a new directory: each round evolves "
                    "fooling images against the current model, adds them to a garbage class "
                    "and retrains it on the natural images: MNIST, or an image folder of your "
                    "own (data=FOLDER: a folder per class, or train/ and test/ of them; any "
                    "size, RGB or grey). Writes rounds.csv, rounds.json and rounds.png; "
                    "`evofool resume DIR` continues an interrupted experiment. The last "
                    "stdout line is JSON with the directory and the final round's measures.")
    parser.add_argument("config", type=Path,
                        help="YAML retrain config, or a shipped one's name: mnist_retrain "
                             "(MNIST digits) or folder_retrain (your image folder and a model "
                             "trained on it: --set data=FOLDER --set model=PATH)")
    parser.add_argument("--out", type=Path, default=None,
                        help="experiment directory, new or empty "
                             "(default: runs/<name>-<timestamp>)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config key (e.g. rounds=2)")
    parser.add_argument("--quiet", action="store_true", help="no per-generation progress")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evofool.api.configs import config_path  # torch: only when used
    from evofool.api.retrain import start_experiment
    from evofool.n_plus_one.config import load_retrain_config

    config = load_retrain_config(config_path(args.config), args.overrides)
    directory, table = start_experiment(config, args.out, progress=not args.quiet)
    return report(directory, table)


def report(directory: Path, table: list[dict[str, Any]]) -> int:
    """Point to the table and print the last round as JSON (the last stdout line)."""
    if (directory / "rounds.csv").exists():
        print(f"evofool: per-round table in {directory / 'rounds.csv'}, plot in "
              f"{directory / 'rounds.png'}", file=sys.stderr)
    print(json.dumps({"directory": str(directory), "rounds_done": len(table),
                      "last_round": table[-1] if table else None}))
    return 0
