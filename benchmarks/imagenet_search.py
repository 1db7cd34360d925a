"""Which ImageNet CPPN search reaches higher confidence per evaluation: variants side by side.

Runs each variant (a config plus ``--set`` overrides) for every seed on the same
evaluation budget (``evaluations=N``, ``generations=null``) against the config's
model on the CPU, ``--parallel`` runs at a time with ``--threads`` each, and reads
each finished run's store: median best confidence over all classes and classes
>= 0.5 / 0.99. The budget is counted in evaluations, not seconds, so neighbours on
the machine change how long it takes, not the result. Prints one JSON line per
run, then the whole comparison (per-variant means) as the last line.

    python benchmarks/imagenet_search.py --evaluations 32000 --seeds 0 1
        [--variant NAME=CONFIG[,key=value...]] ... [--out runs/imagenet-search]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from evaluator import cpu_model
from imagenet_run import best_confidences

from evofool.archive.confidence import FOOLED_KEY, classes_fooled

CONFIGS = Path(__file__).parents[1] / "configs"
DEFAULT_VARIANTS = [
    f"faithful={CONFIGS / 'imagenet_cppn_faithful.yaml'}",
    f"default={CONFIGS / 'imagenet_cppn.yaml'},algorithm.brightness_bins=1",
    f"default+bands4={CONFIGS / 'imagenet_cppn.yaml'},algorithm.brightness_bins=4",
    f"cma_me={CONFIGS / 'imagenet_cppn.yaml'},algorithm.type=cma_me",
]


def parse_variant(text: str) -> tuple[str, Path, list[str]]:
    name, _, rest = text.partition("=")
    config, *overrides = rest.split(",")
    return name, Path(config), overrides


def run_command(config: Path, overrides: list[str], seed: int, evaluations: int,
                run_dir: Path) -> list[str]:
    settings = ["generations=null", f"evaluations={evaluations}", f"seed={seed}",
                "evaluator.device=cpu", *overrides]
    return [sys.executable, "-m", "evofool", "run", str(config), "--out", str(run_dir),
            "--quiet", *[f"--set={setting}" for setting in settings]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variant", action="append", dest="variants")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs") / "imagenet-search")
    args = parser.parse_args()
    variants = [parse_variant(text) for text in args.variants or DEFAULT_VARIANTS]
    environment = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    queue = [(name, config, overrides, seed) for seed in args.seeds
             for name, config, overrides in variants]
    results: dict[str, list[dict]] = {name: [] for name, _, _ in variants}
    running: list[tuple[subprocess.Popen, str, int, Path]] = []
    while queue or running:
        while queue and len(running) < args.parallel:
            name, config, overrides, seed = queue.pop(0)
            run_dir = args.out / f"{name}-seed{seed}"
            process = subprocess.Popen(run_command(config, overrides, seed, args.evaluations,
                                                   run_dir), env=environment)
            running.append((process, name, seed, run_dir))
        process, name, seed, run_dir = running.pop(0)
        if process.wait() != 0:
            sys.exit(f"imagenet_search: {name} seed {seed} failed with exit code "
                     f"{process.returncode}")
        confidences = best_confidences(run_dir)
        evaluations = json.loads((run_dir / "summary.json").read_text())["evaluations"]
        row = {"variant": name, "seed": seed, "run_dir": str(run_dir),
               "evaluations": evaluations,
               "median_confidence": round(statistics.median(confidences), 5),
               "classes_at_0.5": sum(value >= 0.5 for value in confidences),
               FOOLED_KEY: classes_fooled(confidences)}
        results[name].append(row)
        print(json.dumps(row), flush=True)
    means = {name: {key: round(statistics.mean(row[key] for row in rows), 4)
                    for key in ("median_confidence", "classes_at_0.5", FOOLED_KEY)}
             for name, rows in results.items()}
    print(json.dumps({"benchmark": "imagenet_search", "cpu": cpu_model(),
                      "evaluations": args.evaluations, "seeds": args.seeds,
                      "threads_per_run": args.threads, "means": means,
                      "runs": [row for rows in results.values() for row in rows]}))


if __name__ == "__main__":
    main()
