"""The paper's n+1 experiment on MNIST, timed: `evofool retrain configs/mnist_retrain.yaml`.

Runs the shipped config (15 rounds unless --set says otherwise) through the
real CLI into --out (default: a fresh temporary directory), then prints the
per-round table and the wall time as JSON (the last stdout line).

    python benchmarks/retrain_mnist.py [--out DIR] [--set rounds=2 ...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import commands
from evaluator import cpu_model

CONFIG = Path(__file__).parents[1] / "configs" / "mnist_retrain.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="evofool-retrain-")) / "experiment"
    started = time.perf_counter()
    commands.evofool("retrain", str(CONFIG), "--out", str(out), "--quiet",
                     *[f"--set={override}" for override in args.overrides],
                     who="retrain_mnist")
    wall = time.perf_counter() - started
    table = json.loads((out / "rounds.json").read_text())
    print(json.dumps({"benchmark": "retrain_mnist", "cpu": cpu_model(),
                      "config": str(CONFIG), "overrides": args.overrides, "directory": str(out),
                      "wall_seconds": round(wall, 1), "rounds": table}))


if __name__ == "__main__":
    main()
