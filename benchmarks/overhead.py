"""Overhead of a whole MAP-Elites generation over the bare classifier forward pass.

Per encoding (the shipped configs/mnist_direct.yaml and mnist_cppn.yaml): wall
time of N generations (selection, variation, rendering, scoring, archive
update) divided by the time the bare LeNet network takes to
classify the same number of same-size images at the same batch size, timed in
the same process, one bare forward after each generation (goal: ratio <= 1.25).
The last stdout line is JSON.

    python benchmarks/overhead.py [--generations 200] [--warmup 50] [--repeats 3]
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

BATCH = 200
CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def interleaved_seconds(encoding_type: str, generations: int, warmup: int
                        ) -> tuple[float, float]:
    """Seconds spent in ``generations`` generations and in as many bare forwards, each
    generation followed by one forward, so load from other tenants hits both alike."""
    config = load_config(CONFIGS / f"mnist_{encoding_type}.yaml",
                         [f"algorithm.batch_size={BATCH}", "evaluator.device=cpu"])
    classifier = build_classifier(config)
    evaluator = ImageScorer(classifier, device="cpu", max_batch=1024)
    encoding = build_encoding(config, classifier)
    search = build_algorithm(config, encoding, LocalEvaluator(encoding, evaluator))
    network = evaluator.classifier.network
    images = torch.rand(BATCH, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    for _ in range(warmup):  # past the first generations, genomes have grown
        search.step()
    generation_seconds = forward_seconds = 0.0
    for _ in range(generations):
        started = time.perf_counter()
        search.step()
        between = time.perf_counter()
        with torch.inference_mode():
            network(images)
        generation_seconds += between - started
        forward_seconds += time.perf_counter() - between
    return generation_seconds, forward_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = {}
    for encoding_type in ("direct", "cppn"):
        ratios, rates = [], []
        for _ in range(args.repeats):
            run_seconds, bare_seconds = interleaved_seconds(encoding_type, args.generations,
                                                            args.warmup)
            ratios.append(run_seconds / bare_seconds)
            rates.append(args.generations * BATCH / run_seconds)
        results[encoding_type] = {"ratio": round(min(ratios), 3),
                                  "evaluations_per_s": round(max(rates))}
        print(json.dumps({encoding_type: results[encoding_type]}), flush=True)
    print(json.dumps({"benchmark": "overhead", "model": "mnist-lenet", "batch": BATCH,
                      "generations": args.generations, "threads": torch.get_num_threads(),
                      **results}))


if __name__ == "__main__":
    main()
