"""How well pytorch-ood's detectors flag fooling images of the default MNIST LeNet.

Runs ``configs/mnist_cppn.yaml`` and ``configs/mnist_direct.yaml`` for each seed as
a user would (``evofool run``, ``--generations`` each), then one ``evofool ood``
over all runs' fooling images (every kept champion at confidence >= 0.9, each run
its own OOD set) against the 10,000 MNIST test digits, feature detectors fit on
20,000 training digits. The last stdout line is the whole result as JSON: AUROC
per detector, encoding (mean, min and max over the seeds) and noise baseline.

    python benchmarks/ood_mnist.py [--generations 300] [--seeds 0 1 2 3 4]
        [--out runs/ood-mnist] [--fit-images 20000] [--natural-images 10000]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import commands
from evaluator import cpu_model

CONFIGS = Path(__file__).parents[1] / "configs"


def evofool(*args: str) -> str:
    return commands.evofool(*args, who="ood_mnist")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=Path("runs") / "ood-mnist")
    parser.add_argument("--fit-images", type=int, default=20000,
                        help="training digits the feature detectors are fit on")
    parser.add_argument("--natural-images", type=int, default=10000,
                        help="test digits the detectors keep (and noise images of each kind)")
    args = parser.parse_args()
    runs = {}
    for encoding in ("cppn", "direct"):
        for seed in args.seeds:
            run_dir = args.out / f"mnist-{encoding}-seed{seed}"
            if not (run_dir / "summary.json").exists():
                evofool("run", str(CONFIGS / f"mnist_{encoding}.yaml"), "--out", str(run_dir),
                        "--quiet", "--set", f"generations={args.generations}",
                        "--set", f"seed={seed}")
            runs[str(run_dir)] = encoding
    result = json.loads(evofool("ood", "mnist-lenet", "--in-distribution", "mnist-test",
                                "--fooling", *runs, "--fit-images", str(args.fit_images),
                                "--natural-images", str(args.natural_images), "--out",
                                str(args.out / "ood")).splitlines()[-1])
    values: dict[str, dict[str, list[float]]] = {}
    for row in result["rows"]:
        group = runs.get(row["ood_set"], row["ood_set"])  # an encoding, or a noise baseline
        values.setdefault(row["detector"], {}).setdefault(group, []).append(row["AUROC"])
    auroc = {detector: {group: {"mean": round(statistics.mean(seen), 3),
                                "min": min(seen), "max": max(seen)}
                        for group, seen in groups.items()} for detector, groups in values.items()}
    sets = json.loads((args.out / "ood" / "ood.json").read_text())["sets"]
    print(json.dumps({"benchmark": "ood_mnist", "cpu": cpu_model(),
                      "generations": args.generations, "seeds": args.seeds,
                      "images": {Path(name).name: count for name, count in sets.items()},
                      "auroc": auroc, "out": str(args.out / "ood")}))


if __name__ == "__main__":
    main()
