"""Side by side with pyribs' MNIST fooling approach, same LeNet, same evaluation budget.

pyribs (package ``ribs``, a benchmark-only extra: ``pip install ribs``), as in
its MNIST fooling tutorial: a 10-cell ``GridArchive`` keyed on the predicted
class, one ``GaussianEmitter`` (sigma 0.5, batch 30) on 784 genes in [0, 1],
objective = the top-class probability. Ours: MAP-Elites with the direct
encoding and the every-class replacement rule (configs/mnist_direct.yaml).
Both report classes at >= 0.9999, wall time and evaluations per second; the
last stdout line is JSON.

    python benchmarks/vs_pyribs.py [--evaluations 100000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from evofool.evaluation import LocalEvaluator
from evofool.evaluation.scorer import ImageScorer
from evofool.run.builder import build_algorithm, build_classifier, build_encoding
from evofool.run.config import config_from_dict

FOOLED = 0.9999


def run_pyribs(classifier, evaluations: int, seed: int) -> dict:
    from ribs.archives import GridArchive
    from ribs.emitters import GaussianEmitter
    from ribs.schedulers import Scheduler

    archive = GridArchive(solution_dim=784, dims=[10], ranges=[(0, 10)], seed=seed)
    emitter = GaussianEmitter(archive, sigma=0.5, x0=np.full(784, 0.5), batch_size=30,
                              bounds=[(0.0, 1.0)] * 784, seed=seed)
    scheduler = Scheduler(archive, [emitter])
    network = classifier.eval()
    spent = 0
    started = time.perf_counter()
    while spent < evaluations:
        solutions = scheduler.ask()
        images = torch.from_numpy(solutions).float().view(-1, 1, 28, 28)
        with torch.inference_mode():
            probabilities = network(images)
        confidence, predicted = probabilities.max(dim=1)
        scheduler.tell(confidence.numpy(), predicted.numpy().reshape(-1, 1) + 0.5)
        spent += len(solutions)
    wall = time.perf_counter() - started
    objectives = archive.data("objective")
    return {"method": "pyribs GridArchive(argmax) + GaussianEmitter(0.5, batch 30)",
            "evaluations": spent, "wall_seconds": round(wall, 2),
            "evaluations_per_s": round(spent / wall),
            "cells_filled": int(len(objectives)),
            "classes_at_0.9999": int((objectives >= FOOLED).sum())}


def run_ours(classifier, config, evaluations: int) -> dict:
    evaluator = ImageScorer(classifier, device="cpu", max_batch=1024)
    encoding = build_encoding(config, classifier)
    search = build_algorithm(config, encoding, LocalEvaluator(encoding, evaluator))
    started = time.perf_counter()
    while search.evaluations < evaluations:
        search.step()
    wall = time.perf_counter() - started
    confidence = search.archive.confidence
    return {"method": "evofool MAP-Elites, every-class rule, direct encoding, batch 200",
            "evaluations": search.evaluations, "wall_seconds": round(wall, 2),
            "evaluations_per_s": round(search.evaluations / wall),
            "cells_filled": int(search.archive.occupied.sum()),
            "classes_at_0.9999": int((confidence >= FOOLED).sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = config_from_dict({"seed": args.seed, "generations": 1,
                               "encoding": {"type": "direct"}})
    classifier = build_classifier(config)
    ours = run_ours(classifier, config, args.evaluations)
    print(json.dumps(ours), flush=True)
    theirs = run_pyribs(classifier, args.evaluations, args.seed)
    print(json.dumps(theirs), flush=True)
    print(json.dumps({
        "benchmark": "vs_pyribs", "model": "mnist-lenet", "threads": torch.get_num_threads(),
        "ours": ours, "pyribs": theirs,
        "speedup_evaluations_per_s": round(ours["evaluations_per_s"]
                                           / theirs["evaluations_per_s"], 2)}))


if __name__ == "__main__":
    main()
