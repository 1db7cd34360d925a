"""``evofool defend [MODEL] --fooling SET... --defenses SPEC...``: fooling images under input
defences, beside the accuracy each defence leaves on natural images."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evofool.analysis.report_defaults import DEFAULT_DEFENSES
from evofool.archive.confidence import FOOLED_THRESHOLD


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "defend", help="score fooling images under input defences (noise, JPEG, squeezing)",
        description="Score fooling sets (runs, n+1 experiments, exports) undefended and under "
                    f"each input defence: the share still at >= {FOOLED_THRESHOLD:g} and >= 0.5 in "
                    "their "
                    "fooled class, their median confidence, and the clean accuracy each "
                    "defence leaves on natural images; write defend.csv, defend.json and "
                    "defend.png.")
    parser.add_argument("model", nargs="?", default="mnist-lenet",
                        help="model spec, as `evofool run` takes them (default mnist-lenet)")
    parser.add_argument("--fooling", nargs="+", required=True, metavar="SET",
                        help="run or n+1 directories, or exports (.pt, or a directory with "
                             "fooling.pt) that carry their fooled classes")
    parser.add_argument("--defenses", nargs="+", default=list(DEFAULT_DEFENSES),
                        metavar="SPEC",
                        help="name:parameter=value,... each (default: "
                             f"{' '.join(DEFAULT_DEFENSES)})")
    parser.add_argument("--in-distribution", default="mnist-test", metavar="SET",
                        help="natural images with labels, for clean accuracy: mnist-test "
                             "(default), a .pt with 'images' and 'labels', or none")
    parser.add_argument("--natural-images", type=int, default=None, metavar="N",
                        help="only the first N natural images (default all)")
    parser.add_argument("--min-confidence", type=float, default=FOOLED_THRESHOLD,
                        help="fooling images at this confidence or above (default %(default)s)")
    parser.add_argument("--champions-only", action="store_true",
                        help="only runs' current champions, not every champion they kept")
    parser.add_argument("--detect", action="store_true",
                        help="also feature squeezing as a detector (needs evofool[ood]): "
                             "AUROC and FPR at 95%% TPR of the largest change of prediction "
                             "under the defences")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default with one run in --fooling: "
                             "RUN_DIR/defend, where the browser shows it)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evofool.analysis.defense_report import FOOLED_SHARE_KEY
    from evofool.api.analyses import defend  # torch: only when used
    from evofool.cli.fooling_sets import report_dir

    out = report_dir(args.out, args.fooling, "defend")
    report = defend(args.model, args.fooling, defenses=args.defenses,
                    in_distribution=args.in_distribution, natural_images=args.natural_images,
                    min_confidence=args.min_confidence, champions_only=args.champions_only,
                    detect=args.detect, out=out)
    for row in report.rows:
        print(f"evofool: {row['defense']:>36} on {Path(row['fooling_set']).name}: "
              f"{row[FOOLED_SHARE_KEY]:.1%} still >= {FOOLED_THRESHOLD:g}, "
              f"median {row['median_confidence']:.4f}"
              f", clean accuracy {row['clean_accuracy']}", file=sys.stderr)
    print(json.dumps({"out": str(out), "rows": report.rows, "detection": report.detection}))
    return 0
