"""``evofool ood [MODEL] --fooling SET...``: how well OOD detectors flag fooling images."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evofool.analysis.report_defaults import DEFAULT_DETECTORS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ood", help="score OOD detectors on fooling images (needs evofool[ood])",
        description="Score pytorch-ood's detectors on OOD sets (runs' fooling images, exports, "
                    "noise) against natural in-distribution images; write ood.csv, ood.json and "
                    "an ood.png heatmap of AUROC, AUPR and FPR at 95% TPR per detector and set.")
    parser.add_argument("model", nargs="?", default="mnist-lenet",
                        help="model spec, as `evofool run` takes them (default mnist-lenet)")
    parser.add_argument("--fooling", "--ood", nargs="+", required=True, metavar="SET",
                        dest="ood",
                        help="run or n+1 directories, exports (.pt or a directory with "
                             "fooling.pt); uniform-noise and gaussian-noise are always added")
    parser.add_argument("--in-distribution", default="mnist-test", metavar="SET",
                        help="natural images the detectors should keep: mnist-test (default) "
                             "or a .pt with an 'images' uint8 tensor")
    parser.add_argument("--natural-images", type=int, default=None, metavar="N",
                        help="only the first N images of --in-distribution (default all); the "
                             "noise baselines hold as many")
    parser.add_argument("--fit-on", default="mnist-train", metavar="SET",
                        help="natural training images the feature detectors are fit on "
                             "(default mnist-train)")
    parser.add_argument("--fit-images", type=int, default=20000,
                        help="the first N images of --fit-on (default 20000)")
    parser.add_argument("--detectors", default=",".join(DEFAULT_DETECTORS),
                        help=f"comma-separated (default {','.join(DEFAULT_DETECTORS)})")
    parser.add_argument("--min-confidence", type=float, default=0.9,
                        help="fooling images at this confidence or above (default 0.9)")
    parser.add_argument("--champions-only", action="store_true",
                        help="only runs' current champions, not every champion they kept")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default with one run in --fooling: RUN_DIR/ood, "
                             "where the browser shows it)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evofool.api.analyses import ood_report  # torch and pytorch-ood: only when used
    from evofool.cli.fooling_sets import report_dir

    out = report_dir(args.out, args.ood, "ood")
    report = ood_report(args.model, args.ood, detectors=[
        name.strip() for name in args.detectors.split(",") if name.strip()],
        in_distribution=args.in_distribution, natural_images=args.natural_images,
        fit_on=args.fit_on, fit_images=args.fit_images, min_confidence=args.min_confidence,
        champions_only=args.champions_only, out=out)
    for row in report.rows:
        print(f"evofool: {row['detector']:>12} on {row['ood_set']}: AUROC {row['AUROC']:.3f}, "
              f"FPR95TPR {row['FPR95TPR']:.3f}", file=sys.stderr)
    print(json.dumps({"out": str(out), "rows": report.rows}))
    return 0
