"""How well pytorch-ood's detectors flag fooling images of the default MNIST LeNet.

Runs ``configs/mnist_cppn.yaml`` and ``configs/mnist_direct.yaml`` as a user would
(``evofool run``, ``--generations`` each), then ``evofool ood`` on both runs'
fooling images (every kept champion at confidence >= 0.9) against the 10,000
MNIST test digits, feature detectors fit on 20,000 training digits. The last
stdout line is the whole result as JSON (AUROC per detector and set).

    python benchmarks/ood_mnist.py [--generations 300] [--out runs/ood-mnist]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from evaluator import cpu_model

CONFIGS = Path(__file__).parents[1] / "configs"


def evofool(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "evofool", *args], capture_output=True,
                            text=True)
    if result.returncode != 0:
        sys.exit(f"ood_mnist: evofool {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("runs") / "ood-mnist")
    args = parser.parse_args()
    runs = []
    for encoding in ("cppn", "direct"):
        run_dir = args.out / f"mnist-{encoding}"
        if not (run_dir / "summary.json").exists():
            evofool("run", str(CONFIGS / f"mnist_{encoding}.yaml"), "--out", str(run_dir),
                    "--quiet", "--set", f"generations={args.generations}")
        runs.append(run_dir)
    result = json.loads(evofool("ood", "--ood", *map(str, runs), "--out",
                                str(args.out / "ood")).splitlines()[-1])
    auroc = {}
    for row in result["rows"]:
        auroc.setdefault(row["detector"], {})[Path(row["ood_set"]).name] = row["AUROC"]
    sets = json.loads((args.out / "ood" / "ood.json").read_text())["sets"]
    print(json.dumps({"benchmark": "ood_mnist", "cpu": cpu_model(),
                      "generations": args.generations, "images": {Path(name).name: count
                                                                  for name, count in sets.items()},
                      "auroc": auroc, "out": str(args.out / "ood")}))


if __name__ == "__main__":
    main()
