"""Scoring throughput on Ray actors (1 and 2 CPU actors) against local scoring.

MAP-Elites CPPN generations of ``--batch`` children against the LeNet; each
backend runs ``--generations`` after a warm-up, in one process with one local
Ray instance. Prints evaluations/s per backend, ratios to local, and the bytes
that cross to the actors and back per generation (JSON; last line = all).

    python benchmarks/ray_scaling.py [--generations 100] [--batch 200]
"""

from __future__ import annotations

import argparse
import json
import time

import ray
import torch

from evofool.components import build_algorithm, build_classifier, build_encoding, build_evaluator
from evofool.config import config_from_dict


def throughput(backend: str, actors: int, batch: int, generations: int) -> float:
    # One chunk per actor: Ray shards are whole chunks of max_batch (so scores do not
    # depend on the split), and local scoring uses the same chunks.
    config = config_from_dict({"generations": 1, "algorithm": {"batch_size": batch},
                               "evaluator": {"backend": backend, "ray_actors": actors,
                                             "max_batch": -(-batch // 2)}})
    classifier = build_classifier(config)
    evaluator = build_evaluator(config, classifier)
    search = build_algorithm(config, build_encoding(config, classifier), evaluator)
    for _ in range(20):  # warm-up: actors started, genomes grown
        search.step()
    started = time.perf_counter()
    for _ in range(generations):
        search.step()
    seconds = time.perf_counter() - started
    if backend == "ray":
        for actor in evaluator.actors:
            ray.kill(actor)
    return generations * batch / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    local = throughput("local", 1, args.batch, args.generations)
    rows = {"local": {"evaluations_per_s": round(local), "ratio": 1.0}}
    for actors in (1, 2):
        rate = throughput("ray", actors, args.batch, args.generations)
        rows[f"ray_{actors}_cpu_actors"] = {"evaluations_per_s": round(rate),
                                            "ratio": round(rate / local, 3)}
        print(json.dumps(rows), flush=True)
    image_bytes, score_bytes = args.batch * 28 * 28 * 4, args.batch * 10 * 4
    print(json.dumps({"benchmark": "ray_scaling", "batch": args.batch,
                      "generations": args.generations, "threads": torch.get_num_threads(),
                      "bytes_out_per_generation": image_bytes,
                      "bytes_back_per_generation": score_bytes, **rows}))


if __name__ == "__main__":
    main()
