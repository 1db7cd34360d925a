"""Reproduce the paper's MNIST result: how many generations until all ten digits are fooled.

For each encoding (the shipped config of that name: configs/mnist_direct.yaml,
mnist_cppn.yaml, mnist_cppn_faithful.yaml) and seed, MAP-Elites (200 children
per generation) runs against the LeNet from ``evofool train mnist-lenet``
until every class reaches 0.9999 or the generation cap, and reports the
first generation at which all ten classes were at >= 0.99, 0.999 and 0.9999,
and the wall time. The last stdout line is the whole table as JSON.

    python benchmarks/reproduce_mnist.py [--seeds 0 1 2 3 4] [--encodings direct cppn cppn-faithful]
        [--max-generations 1000] [--set encoding.eta=15 ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from evofool.evaluation import LocalEvaluator
from evofool.evaluation.scorer import ImageScorer
from evofool.run.builder import build_algorithm, build_classifier, build_encoding
from evofool.run.config import load_config

THRESHOLDS = (0.99, 0.999, 0.9999)
CONFIGS = Path(__file__).resolve().parent.parent / "configs"
# Each name runs the shipped config of that name, with seed and cap replaced.
ENCODINGS = {
    "direct": CONFIGS / "mnist_direct.yaml",
    "cppn": CONFIGS / "mnist_cppn.yaml",
    "cppn-faithful": CONFIGS / "mnist_cppn_faithful.yaml",
}


def reproduce(encoding_name: str, seed: int, max_generations: int,
              overrides: list[str] = ()) -> dict:
    config = load_config(ENCODINGS[encoding_name], [
        f"seed={seed}", f"generations={max_generations}", "evaluator.device=cpu", *overrides])
    classifier = build_classifier(config)
    evaluator = ImageScorer(classifier, device="cpu", max_batch=1024)
    encoding = build_encoding(config, classifier)
    search = build_algorithm(config, encoding, LocalEvaluator(encoding, evaluator))
    reached: dict[float, int | None] = dict.fromkeys(THRESHOLDS)
    started = time.perf_counter()
    while search.generation < max_generations and reached[THRESHOLDS[-1]] is None:
        search.step()
        worst = float(search.archive.confidence.min())
        for threshold in THRESHOLDS:
            if reached[threshold] is None and worst >= threshold:
                reached[threshold] = search.generation
    row = {"encoding": encoding_name, "seed": seed,
           **{f"all_at_{t}": reached[t] for t in THRESHOLDS},
           "generations_run": search.generation,
           "wall_seconds": round(time.perf_counter() - started, 2),
           "min_confidence": float(search.archive.confidence.min())}
    genomes = search.archive.genomes
    if "alive" in genomes:
        row["champion_hidden_nodes"] = genomes["alive"][:, 4 + encoding.channels:].sum(
            dim=1).tolist()
        weights = genomes["weight"][genomes["connected"]].abs()
        row["champion_weights_near_bound"] = round(
            float((weights > 0.95 * encoding.weight_bound).float().mean()), 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--encodings", nargs="+", default=["direct", "cppn", "cppn-faithful"],
                        choices=sorted(ENCODINGS))
    parser.add_argument("--max-generations", type=int, default=1000)
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="config override for every run, e.g. encoding.eta=15")
    args = parser.parse_args()
    rows = []
    for encoding_name in args.encodings:
        for seed in args.seeds:
            rows.append(reproduce(encoding_name, seed, args.max_generations, args.overrides))
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"benchmark": "reproduce_mnist", "model": "mnist-lenet",
                      "overrides": args.overrides,
                      "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
