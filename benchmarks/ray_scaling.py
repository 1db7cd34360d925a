"""Evaluation on Ray actors across a simulated cluster: what crosses the network, what the
driver costs, and evaluations/s at 1, 2 and 4 actors.

Starts Ray's own multi-node test cluster (``ray.cluster_utils.Cluster``: a head
and ``--nodes`` worker nodes, separate raylets on this machine, one CPU each)
and runs MAP-Elites generations of ``--config`` (default: the shipped ImageNet
CPPN config, 400 children) with the children cut into one shard per actor, each
whole chunks of the config's ``evaluator.max_batch`` (16 for ImageNet).
Per actor count: bytes of genomes sent and of results returned per generation
(goal <= 4 MB sent; before, the driver sent the rendered images: 400 x 3 x 224
x 224 float32 = 240.8 MB), the driver's own seconds per generation outside
waiting for actors (selection, mutation, archive; goal <= 10 % of one actor's
shard time at 4 actors), each actor's seconds on its shard, and evaluations/s.
On a 2-core machine the actors share the cores, so the speed-up cannot show;
the per-shard and driver times are what BENCHMARKS.md projects from. With the
config's screen (``--set evaluator.screen.when=always`` screens from the first
generation, as a late run does) a screened generation is two round trips, and
the shard time is the slowest shard of each, added up; each generation's screen
decision and the share of children sent on to the exact engine are reported.
The last stdout line is JSON.

    python benchmarks/ray_scaling.py [--config configs/imagenet_cppn.yaml]
        [--actors 1 2 4] [--generations 4] [--nodes 4] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import ray
import torch
from evaluator import cpu_model
from ray.cluster_utils import Cluster

from evofool.run.builder import (
    build_algorithm,
    build_classifier,
    build_encoding,
    build_evaluator,
    build_screen,
)
from evofool.run.config import load_config

CONFIG = Path(__file__).parents[1] / "configs" / "imagenet_cppn.yaml"
WARMUP = 2  # generations before timing: actors started, models loaded


def measure(config_path: Path, actors: int, generations: int, overrides: list[str]) -> dict:
    children = load_config(config_path, overrides).algorithm.batch_size
    config = load_config(config_path, [*overrides, "evaluator.backend=ray",
                                       f"evaluator.ray_actors={actors}", "evaluator.device=cpu"])
    classifier = build_classifier(config)
    encoding = build_encoding(config, classifier)
    evaluator = build_evaluator(config, classifier, encoding,
                                screen=build_screen(config, classifier))
    search = build_algorithm(config, encoding, evaluator)
    for _ in range(WARMUP):
        search.step()
    sent, returned = evaluator.bytes_sent, evaluator.bytes_returned
    waiting, shard_seconds, started = evaluator.seconds_waiting, [], time.perf_counter()
    decisions, sent_on = [], []
    for _ in range(generations):
        search.step()
        shard_seconds.append(sum(max(round_) for round_ in evaluator.last_round_seconds))
        if search.last_screen is not None:
            decisions.append(search.last_screen.decision)
            sent_on.append(search.last_screen.confirmed / children)
    seconds = time.perf_counter() - started
    driver = (seconds - (evaluator.seconds_waiting - waiting)) / generations
    for actor in evaluator.actors:
        ray.kill(actor)
    return {"actors": actors, "children": children,
            "rendered_bytes_per_generation": children * 4 * math.prod(encoding.image_shape),
            "bytes_sent_per_generation": (evaluator.bytes_sent - sent) // generations,
            "bytes_returned_per_generation": (evaluator.bytes_returned - returned) // generations,
            "driver_seconds_per_generation": round(driver, 4),
            "slowest_shard_seconds": round(statistics.median(shard_seconds), 4),
            "driver_share_of_shard": round(driver / statistics.median(shard_seconds), 4),
            "evaluations_per_s": round(generations * children / seconds, 1),
            "screen": None if evaluator.screen is None else evaluator.screen.engine,
            "screen_decisions": decisions,
            "share_sent_to_exact": [round(share, 3) for share in sent_on]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--set", action="append", default=[], dest="overrides",
                        metavar="KEY=VALUE", help="config overrides, as evofool run --set")
    args = parser.parse_args()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for _ in range(args.nodes):
        cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    rows = []
    try:
        for actors in args.actors:
            rows.append(measure(args.config, actors, args.generations, args.overrides))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()
    print(json.dumps({"benchmark": "ray_scaling", "cpu": cpu_model(), "config": str(args.config),
                      "overrides": args.overrides,
                      "nodes": args.nodes, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
