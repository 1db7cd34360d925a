"""Can evolution fool the default MNIST LeNet and an OOD detector at once?

For each detector (Mahalanobis and energy, each thresholded to keep 95 % of the
MNIST test digits) and seed, runs ``configs/mnist_cppn_vs_mahalanobis.yaml`` as a
user would, for up to ``--generations`` generations, stopping early once every
digit has a champion at >= 0.99 that passes the detector. Then one
``evofool ood`` per detector scores the final champions of its runs against
the test digits, through pytorch-ood's own code path (OOD as the positive
class): FPR at 95 % TPR is the share of test digits the detector would have to
reject to catch 95 % of those champions (at the gate's own operating point it
rejects 5 %). The same is measured for ungated runs (``configs/mnist_cppn.yaml``,
same seeds, also stopped once all ten digits reach 0.99): the baseline.
The last stdout line is the result as JSON.

    python benchmarks/ood_evasion.py [--generations 2000] [--seeds 0 1 2 3 4]
        [--detectors mahalanobis energy] [--out runs/ood-evasion] [--natural-images 10000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evaluator import cpu_model
from ood_mnist import CONFIGS, evofool

CONFIG = CONFIGS / "mnist_cppn_vs_mahalanobis.yaml"
UNGATED = CONFIGS / "mnist_cppn.yaml"


def run(config: Path, run_dir: Path, generations: int, seed: int, *overrides: str) -> dict:
    """``evofool run`` (unless done already), stopped once all digits reach 0.99; its summary."""
    if not (run_dir / "summary.json").exists():
        evofool("run", str(config), "--out", str(run_dir), "--quiet",
                "--set", f"generations={generations}", "--set", f"seed={seed}",
                "--set", "stop_when_all_at=0.99", *overrides)
    return json.loads((run_dir / "summary.json").read_text())


def champion_metrics(detector: str, run_dirs: list[Path], out: Path,
                     natural_images: int) -> dict[str, dict]:
    """pytorch-ood's AUROC and FPR at 95 % TPR on each run's final champions >= 0.99."""
    report = json.loads(evofool("ood", "mnist-lenet", "--in-distribution", "mnist-test",
                                "--natural-images", str(natural_images),
                                "--fooling", *map(str, run_dirs), "--champions-only",
                                "--min-confidence", "0.99", "--detectors", detector,
                                "--out", str(out)).splitlines()[-1])
    return {Path(row["ood_set"]).name: {"champions_auroc": row["AUROC"],
                                        "champions_fpr95": row["FPR95TPR"]}
            for row in report["rows"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--detectors", nargs="+", default=["mahalanobis", "energy"])
    parser.add_argument("--out", type=Path, default=Path("runs") / "ood-evasion")
    parser.add_argument("--natural-images", type=int, default=10000,
                        help="test digits the detectors should keep")
    args = parser.parse_args()
    ungated = [args.out / f"ungated-seed{seed}" for seed in args.seeds]
    ungated_generations = [run(UNGATED, run_dir, args.generations, seed)["generations"]
                           for run_dir, seed in zip(ungated, args.seeds, strict=True)]
    results, baseline = {}, {}
    for detector in args.detectors:
        gated = [args.out / f"{detector}-seed{seed}" for seed in args.seeds]
        rows = []
        for run_dir, seed in zip(gated, args.seeds, strict=True):
            summary = run(CONFIG, run_dir, args.generations, seed,
                          "--set", f"evaluator.detector.type={detector}")
            rows.append({"seed": seed,
                         "digits_at_0.99_passing": summary["classes_at_0.99_passing_detector"],
                         "generations": summary["generations"],
                         "wall_seconds": summary["wall_seconds"],
                         "threshold": summary["detector"]["threshold"]})
        metrics = champion_metrics(detector, gated, args.out / f"ood-{detector}",
                                   args.natural_images)
        results[detector] = [{**row, **metrics.get(run_dir.name, {})}
                             for row, run_dir in zip(rows, gated, strict=True)]
        metrics = champion_metrics(detector, ungated, args.out / f"ood-ungated-{detector}",
                                   args.natural_images)
        baseline[detector] = [{"seed": seed, "generations": generations,
                               **metrics.get(run_dir.name, {})}
                              for seed, generations, run_dir in zip(
                                  args.seeds, ungated_generations, ungated, strict=True)]
    print(json.dumps({"benchmark": "ood_evasion", "cpu": cpu_model(), "config": CONFIG.name,
                      "generations": args.generations, "results": results,
                      "ungated": baseline}))


if __name__ == "__main__":
    main()
