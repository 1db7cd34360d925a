"""``evofool run CONFIG``: evolve fooling images and write a run directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evofool.config import load_config
from evofool.job import new_run_dir, run_job


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="evolve fooling images as a config says",
        description="Evolve fooling images. The last stdout line is JSON with the run "
                    "directory, median confidence and classes at >= 0.99.")
    parser.add_argument("config", type=Path, help="YAML config (see configs/)")
    parser.add_argument("--out", type=Path, default=None,
                        help="run directory (default: runs/<name>-<timestamp>)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config key (dotted for sections)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.overrides)
    run_dir = new_run_dir(config, args.out)
    summary = run_job(config, run_dir, progress=not args.quiet)
    fooled = sum(entry["confidence"] >= 0.99 for entry in summary["classes"])
    print(f"evofool: {len(summary['classes'])} champions in {run_dir / 'champions'} "
          f"({fooled} at >= 0.99 confidence); summary in {run_dir / 'summary.json'}",
          file=sys.stderr)
    print(json.dumps({"run_dir": str(run_dir), "generations": summary["generations"],
                      "median_confidence": summary["median_confidence"],
                      "classes_at_0.99": fooled}))
    return 0
