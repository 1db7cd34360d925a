"""``evofool export RUN_DIR...``: fooling images as a dataset (ImageFolder, .pt, .npz)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evofool.archive.confidence import FOOLED_THRESHOLD
from evofool.errors import EvofoolError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", help="write runs' fooling images as a dataset with a manifest",
        description="Export the champions (or, with --include-history, every champion a run "
                    "ever had) of one or more runs or retrain experiments. Always writes "
                    "manifest.csv (one row per image, in the data's order).")
    parser.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR",
                        help="run directories or retrain experiment directories")
    parser.add_argument("--format", choices=("imagefolder", "openood", "pt", "npz"),
                        required=True,
                        help="imagefolder: PNGs in <index>-<name>/ folders "
                             "(torchvision ImageFolder); openood: the same PNGs and openood.txt, "
                             "OpenOOD's image list; pt / npz: uint8 images (N, C, H, W), "
                             "labels and class names in one file")
    parser.add_argument("--labels", choices=("ood", "fooled"), default=None,
                        help="openood.txt labels: -1 for every image (ood, the default) or "
                             "the class each image fools")
    parser.add_argument("--out", type=Path, required=True, help="a new or empty directory")
    parser.add_argument("--min-confidence", type=float, default=FOOLED_THRESHOLD,
                        help="only images at this confidence or above (default %(default)s)")
    parser.add_argument("--classes", nargs="+", default=None, metavar="CLASS",
                        help="only these classes (indices or names)")
    parser.add_argument("--rounds", nargs="+", type=int, default=None, metavar="R",
                        help="only these rounds of retrain experiments")
    parser.add_argument("--include-history", action="store_true",
                        help="every champion the runs ever had, not only the final ones")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier export in --out")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evofool.analysis.export import ExportRequest, export  # torch: only when exporting

    if args.labels is not None and args.format != "openood":
        raise EvofoolError("--labels sets openood.txt's labels: it needs --format openood")
    if not 0 <= args.min_confidence <= 1:
        raise EvofoolError(f"--min-confidence must be in [0, 1] (a probability), "
                           f"not {args.min_confidence}")
    count = export(ExportRequest(
        run_dirs=args.run_dirs, out=args.out, format=args.format,
        min_confidence=args.min_confidence, classes=args.classes, rounds=args.rounds,
        include_history=args.include_history, overwrite=args.overwrite,
        labels=args.labels or "ood"))
    print(f"evofool: exported {count} images to {args.out} ({args.format}, manifest.csv)",
          file=sys.stderr)
    print(json.dumps({"out": str(args.out), "format": args.format, "images": count}))
    return 0
