"""``evofool transfer RUN_DIR --models SPEC...``: do a run's champions fool other models?"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "transfer", help="score a run's champions on other models",
        description="Score a run's champions on its own model(s) and on --models; write "
                    "transfer.csv, transfer.json and a transfer.png heatmap of the confidence "
                    "each model gives each champion's fooled class, with top-1 agreement.")
    parser.add_argument("run_dir", type=Path, help="the run directory")
    parser.add_argument("--models", nargs="+", required=True, metavar="SPEC",
                        help="model specs, as `evofool run` takes them")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: RUN_DIR/transfer)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evofool.api.analyses import transfer  # torch: only when used

    out = args.out or args.run_dir / "transfer"
    matrix = transfer(args.run_dir, args.models, out=out, device=args.device)
    for model in matrix.models:
        if model.endswith("(changed since the run)"):
            print(f"evofool: warning: {model.removesuffix(' (changed since the run)')} now "
                  f"loads other weights than {args.run_dir} was evolved against; its row "
                  "scores those, not the run's own model", file=sys.stderr)
    for row, model in enumerate(matrix.models):
        mean = sum(matrix.confidence[row]) / len(matrix.classes)
        print(f"evofool: {model}: top-1 agreement {matrix.agreement(row):.0%}, mean "
              f"confidence {mean:.4f}", file=sys.stderr)
    print(json.dumps({"out": str(out), "models": matrix.models,
                      "top1_agreement": [matrix.agreement(row)
                                         for row in range(len(matrix.models))]}))
    return 0
