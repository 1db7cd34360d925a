"""Where a CPPN generation's time goes: rendering and mutation against the LeNet forward.

Two populations: (1) 256 genomes grown by 40 generations of unselected
mutation (6-18 hidden nodes: the issue's rendering goal is >= 10,000 images/s
at 28x28 for 256 genomes); (2) the 200 children of a MAP-Elites generation
after 100 generations against mnist-lenet. For each, milliseconds per call
(best of --repeats) for rendering and mutation; for (2) also the bare LeNet
forward on the same images, and how many torch operations each of these
(and a whole MAP-Elites generation) dispatches: with hundreds of small
operations per call, dispatch overhead rather than arithmetic is what
rendering and mutation cost on a CPU. The last stdout line is JSON.

    python benchmarks/cppn_render.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from evofool.encodings.genome_batch import take
from evofool.evaluation import LocalEvaluator
from evofool.evaluation.scorer import ImageScorer
from evofool.randomness import RunRandomness
from evofool.run.builder import build_algorithm, build_classifier, build_encoding
from evofool.run.config import config_from_dict


def best_ms(call, repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return round(min(times) * 1000, 3)


class _OperationCounter(TorchDispatchMode):
    """Counts the aten operations dispatched while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def dispatched_operations(call) -> int:
    with _OperationCounter() as counter:
        call()
    return counter.count


def small_operation_us(repeats: int) -> float:
    """Microseconds for one torch operation on a 1-element tensor: the dispatch floor."""
    tiny = torch.zeros(1)
    per_call = best_ms(lambda: [tiny.add(1.0) for _ in range(1000)], repeats)
    return round(per_call, 2)  # 1000 calls in ms = microseconds per call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    config = config_from_dict({"generations": 1, "encoding": {"type": "cppn"}})
    classifier = build_classifier(config)
    evaluator = ImageScorer(classifier, device="cpu", max_batch=1024)
    encoding = build_encoding(config, classifier)

    rng = RunRandomness(0)
    grown = encoding.random(256, rng)
    for generation in range(40):
        grown = encoding.offspring(grown, None, rng, generation)
    render_ms = best_ms(lambda: encoding.render(grown), args.repeats)
    grown_result = {
        "genomes": 256, "mean_hidden_nodes": round(float(
            grown["alive"][:, 4 + encoding.channels:].sum(dim=1).float().mean()), 1),
        "render_ms": render_ms, "render_images_per_s": round(256 / render_ms * 1000),
        "mutate_ms": best_ms(lambda: encoding.offspring(grown, None, rng, 0), args.repeats)}
    print(json.dumps({"grown": grown_result}), flush=True)

    search = build_algorithm(config, encoding, LocalEvaluator(encoding, evaluator))
    for _ in range(100):
        search.step()
    cells = search.archive.occupied.nonzero().squeeze(1)
    parents = take(search.archive.genomes, cells[search.rng.integers(cells.numel(), 200)])
    children = encoding.offspring(parents, None, search.rng, search.generation)
    images = encoding.render(children).contiguous(memory_format=torch.channels_last)
    network = evaluator.classifier.network
    with torch.inference_mode():
        forward_ms = best_ms(lambda: network(images), args.repeats)
        forward_operations = dispatched_operations(lambda: network(images))

    def render() -> torch.Tensor:
        return encoding.render(children)

    def mutate() -> dict:
        return encoding.offspring(parents, None, search.rng, 0)

    map_elites_result = {
        "genomes": 200, "render_ms": best_ms(render, args.repeats),
        "render_operations": dispatched_operations(render),
        "mutate_ms": best_ms(mutate, args.repeats),
        "mutate_operations": dispatched_operations(mutate),
        "lenet_forward_ms": forward_ms, "lenet_forward_operations": forward_operations,
        "whole_generation_operations": dispatched_operations(search.step),
        "small_operation_us": small_operation_us(args.repeats)}
    print(json.dumps({"map_elites_generation_100": map_elites_result}), flush=True)
    print(json.dumps({"benchmark": "cppn_render", "threads": torch.get_num_threads(),
                      "grown": grown_result, "map_elites_generation_100": map_elites_result}))


if __name__ == "__main__":
    main()
