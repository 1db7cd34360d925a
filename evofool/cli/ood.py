"""``evofool ood [MODEL] --fooling SET...``: how well OOD detectors flag fooling images."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_DETECTORS = "msp,maxlogit,energy,entropy,odin,mahalanobis,vim,knn"


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
    parser.add_argument("--detectors", default=DEFAULT_DETECTORS,
                        help=f"comma-separated (default {DEFAULT_DETECTORS})")
    parser.add_argument("--min-confidence", type=float, default=0.9,
                        help="fooling images at this confidence or above (default 0.9)")
    parser.add_argument("--champions-only", action="store_true",
                        help="only runs' current champions, not every champion they kept")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default with one run in --fooling: RUN_DIR/ood, "
                             "where the browser shows it)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evofool.analysis.ood_report import evaluate, write_report
    from evofool.cli.fooling_sets import check_min_confidence, report_dir, stage_printer
    from evofool.errors import EvofoolError
    from evofool.models import load_classifier  # torch and pytorch-ood: only when used
    from evofool.ood.detectors import DETECTORS, FEATURE_DETECTORS
    from evofool.run.image_sets import NOISE, load_image_set

    detectors = [name.strip() for name in args.detectors.split(",") if name.strip()]
    unknown = [name for name in detectors if name not in DETECTORS]
    if unknown or not detectors:
        raise EvofoolError(f"--detectors: unknown {', '.join(unknown) or '(none given)'} "
                           f"(known: {', '.join(DETECTORS)})")
    check_min_confidence(args.min_confidence)
    for option, value in (("--fit-images", args.fit_images),
                          ("--natural-images", args.natural_images)):
        if value is not None and value < 1:
            raise EvofoolError(f"{option} must be positive, got {value}")
    out = report_dir(args.out, args.ood, "ood")
    say = stage_printer("ood")
    say(f"loading {args.model}, {args.in_distribution} and the image sets")
    classifier = load_classifier(args.model).eval()
    shape = classifier.input_spec.shape
    natural = load_image_set(args.in_distribution, shape=shape, limit=args.natural_images)
    sets = [load_image_set(spec, shape=shape, min_confidence=args.min_confidence,
                           include_history=not args.champions_only) for spec in args.ood]
    sets += [load_image_set(kind, shape=shape, limit=len(natural)) for kind in NOISE]
    fit_set = None
    if any(name in FEATURE_DETECTORS for name in detectors):
        fit_set = load_image_set(args.fit_on, shape=shape, limit=args.fit_images)
    report = evaluate(classifier, in_distribution=natural, ood_sets=sets, detectors=detectors,
                      fit_set=fit_set, say=say)
    write_report(report, out)
    for row in report.rows:
        print(f"evofool: {row['detector']:>12} on {row['ood_set']}: AUROC {row['AUROC']:.3f}, "
              f"FPR95TPR {row['FPR95TPR']:.3f}", file=sys.stderr)
    print(json.dumps({"out": str(out), "rows": report.rows}))
    return 0
