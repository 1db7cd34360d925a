"""Can evolution fool the default MNIST LeNet and an OOD detector at once?

For each detector (Mahalanobis and energy, each thresholded to keep 95 % of the
MNIST test digits) and seed, runs ``configs/mnist_cppn_vs_mahalanobis.yaml`` as a
user would, for up to ``--generations`` generations, stopping early once every
digit has a champion at >= 0.99 that passes the detector. Then one
``evofool ood`` per detector scores the final champions of its runs against
the test digits, through pytorch-ood's own code path: its FPR at 95 % TPR is the
share of those champions the detector accepts at that operating point (1.0:
it passes them all), and AUROC says how far inside the threshold they sit
(evolution stops pushing once an image passes, so they sit just inside it).
The last stdout line is the result as JSON.

    python benchmarks/ood_evasion.py [--generations 2000] [--seeds 0 1 2 3 4]
        [--detectors mahalanobis energy] [--out runs/ood-evasion]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evaluator import cpu_model
from ood_mnist import CONFIGS, evofool

CONFIG = CONFIGS / "mnist_cppn_vs_mahalanobis.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--detectors", nargs="+", default=["mahalanobis", "energy"])
    parser.add_argument("--out", type=Path, default=Path("runs") / "ood-evasion")
    args = parser.parse_args()
    results = {}
    for detector in args.detectors:
        runs, rows = [], []
        for seed in args.seeds:
            run_dir = args.out / f"{detector}-seed{seed}"
            if not (run_dir / "summary.json").exists():
                evofool("run", str(CONFIG), "--out", str(run_dir), "--quiet",
                        "--set", f"evaluator.detector.type={detector}",
                        "--set", f"generations={args.generations}", "--set", f"seed={seed}",
                        "--set", "stop_when_all_at=0.99")
            summary = json.loads((run_dir / "summary.json").read_text())
            rows.append({"seed": seed,
                         "digits_at_0.99_passing": summary["classes_at_0.99_passing_detector"],
                         "generations": summary["generations"],
                         "wall_seconds": summary["wall_seconds"],
                         "threshold": summary["detector"]["threshold"]})
            runs.append(str(run_dir))
        report = json.loads(evofool("ood", "mnist-lenet", "--in-distribution", "mnist-test",
                                    "--fooling", *runs, "--champions-only",
                                    "--min-confidence", "0.99", "--detectors", detector,
                                    "--out", str(args.out / f"ood-{detector}")
                                    ).splitlines()[-1])
        metrics = {Path(row["ood_set"]).name: row for row in report["rows"]}
        for row, run in zip(rows, runs, strict=True):
            champions = metrics.get(Path(run).name, {})
            row["champions_auroc"] = champions.get("AUROC")
            row["champions_fpr95"] = champions.get("FPR95TPR")
        results[detector] = rows
    print(json.dumps({"benchmark": "ood_evasion", "cpu": cpu_model(), "config": CONFIG.name,
                      "generations": args.generations, "results": results}))


if __name__ == "__main__":
    main()
