"""Do fooling images transfer between LeNets trained from different seeds, and does
evolving against both at once (fitness = min or mean) change that?

Model A is the default ``mnist-lenet`` (seed 0); model B is trained here with
seed 1 (same recipe) unless --model-b names one. Three CPPN runs (A alone,
A+B with min, A+B with mean) of --generations each, then the transfer matrix
of each run's champions on A and B. Prints per run and model: mean and
min confidence for the fooled class, classes >= 0.99 and top-1 agreement (JSON,
the last stdout line is the whole result).

    python benchmarks/transfer_mnist.py [--generations 500] [--model-b PATH]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from evofool.analysis.transfer import transfer_matrix
from evofool.files.cache import cache_dir
from evofool.run.config import load_config
from evofool.run.job import EvolutionJob
from evofool.training import train_mnist_lenet

CONFIG = Path(__file__).parents[1] / "configs" / "mnist_cppn.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=500)
    parser.add_argument("--model-b", type=Path, default=None)
    args = parser.parse_args()
    model_b = args.model_b or cache_dir() / "models" / "mnist-lenet-seed1.pt"
    if not model_b.exists():
        print(json.dumps({"training_model_b": str(model_b),
                          "test_accuracy": train_mnist_lenet(model_b, seed=1,
                                                             progress=False).test_accuracy}))
    setups = {"A": ["model=mnist-lenet"],
              "A+B min": [f"model=[mnist-lenet, {model_b}]", "evaluator.combine=min"],
              "A+B mean": [f"model=[mnist-lenet, {model_b}]", "evaluator.combine=mean"]}
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, overrides in setups.items():
            config = load_config(CONFIG, [*overrides, f"generations={args.generations}"])
            run_dir = Path(scratch) / name.replace(" ", "-").replace("+", "")
            EvolutionJob.start(config, run_dir, progress=False).run()
            extra = [] if len(config.model_specs) > 1 else [str(model_b)]
            matrix = transfer_matrix(run_dir, extra, device="cpu")
            row = {"evolved_against": name, "models": {}}
            for index, model in enumerate(matrix.models):
                values = matrix.confidence[index]
                row["models"]["A" if model == "mnist-lenet" else "B"] = {
                    "mean_confidence": round(sum(values) / len(values), 6),
                    "min_confidence": round(min(values), 6),
                    "classes_at_0.99": sum(value >= 0.99 for value in values),
                    "top1_agreement": matrix.agreement(index)}
            print(json.dumps(row), flush=True)
            results.append(row)
    print(json.dumps({"generations": args.generations, "model_b": str(model_b),
                      "results": results}))


if __name__ == "__main__":
    main()
