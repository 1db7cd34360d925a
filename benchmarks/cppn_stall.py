"""Why a CPPN run stalls just under 0.9999: probe the stuck champion, then trace the escape.

Runs MAP-Elites (CPPN defaults, 200 children, one parent cell per class:
brightness_bins 1, where the stall is common) for --probe-at
generations, takes the class with the lowest champion confidence, and
mutates that champion --children times with each mutation operator alone
(and with all of them, as a run does), counting children that beat it. A
champion no single operator improves is a local optimum for the search.
The run then goes on until that class reaches 0.9999 (or --max-generations),
and the new champion's ancestry is printed with the classes each ancestor
was champion of: where the escape came from. The last stdout line is JSON.

    python benchmarks/cppn_stall.py [--seed 0] [--probe-at 500] [--children 4000]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import torch

from evofool.encodings.cppn.mutation import CppnMutationRates
from evofool.encodings.genome_batch import take
from evofool.evaluation import LocalEvaluator
from evofool.evaluation.scorer import ImageScorer
from evofool.randomness import RunRandomness
from evofool.run.builder import build_algorithm, build_classifier, build_encoding
from evofool.run.config import config_from_dict

THRESHOLD = 0.9999
NOTHING = CppnMutationRates(add_connection=0.0, delete_connection=0.0, add_node=0.0,
                            delete_node=0.0, weight=0.0, activation=0.0)
OPERATORS = {
    "all (as in a run)": CppnMutationRates(),
    "weights only": replace(NOTHING, weight=0.1),
    "activations only": replace(NOTHING, activation=0.1),
    "add connection": replace(NOTHING, add_connection=1.0),
    "delete connection": replace(NOTHING, delete_connection=1.0),
    "add node": replace(NOTHING, add_node=1.0),
    "delete node": replace(NOTHING, delete_node=1.0),
}


def probe(search, encoding, evaluator, target: int, children: int) -> dict:
    """Per operator: how many of ``children`` mutants of the target's champion beat it."""
    champion = take(search.archive.genomes, torch.full((children,), target))
    record = float(search.archive.confidence[target])
    rng = RunRandomness(12345)
    results = {}
    for name, rates in OPERATORS.items():
        mutants = replace(encoding, rates=rates).offspring(champion, None, rng, 0)
        confidence = evaluator.score(encoding.render(mutants))[:, target]
        results[name] = {"improved": int((confidence > record).sum()),
                         "best": float(confidence.max()),
                         "median": float(confidence.median())}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--probe-at", type=int, default=500)
    parser.add_argument("--children", type=int, default=4000)
    parser.add_argument("--max-generations", type=int, default=3000)
    args = parser.parse_args()
    config = config_from_dict({"seed": args.seed, "generations": args.max_generations,
                               "encoding": {"type": "cppn"}, "evaluator": {"device": "cpu"}})
    classifier = build_classifier(config)
    evaluator = ImageScorer(classifier, device="cpu", max_batch=1024)
    encoding = build_encoding(config, classifier)
    search = build_algorithm(config, encoding, LocalEvaluator(encoding, evaluator))
    champion_of: dict[int, set[int]] = {}
    parent_of: dict[int, int] = {}

    def step() -> None:
        search.step()
        for cell in range(search.archive.num_classes):
            genome_id = int(search.archive.genome_id[cell])
            champion_of.setdefault(genome_id, set()).add(cell)
            parent_of[genome_id] = int(search.archive.parent_id[cell])

    while search.generation < args.probe_at:
        step()
    target = int(search.archive.confidence.argmin())
    stuck = {"class": target, "confidence": float(search.archive.confidence[target]),
             "champion_born": int(search.archive.generation[target]),
             "all_confidences": [round(float(c), 7) for c in search.archive.confidence]}
    print(json.dumps({"stuck": stuck}), flush=True)
    operators = probe(search, encoding, evaluator, target, args.children)
    print(json.dumps({"operators": operators}), flush=True)

    while (search.generation < args.max_generations
           and float(search.archive.confidence[target]) < THRESHOLD):
        step()
    ancestry = []
    genome_id = int(search.archive.genome_id[target])
    while genome_id >= 0:
        ancestry.append({"genome_id": genome_id, "born": genome_id // search.batch_size,
                         "champion_of": sorted(champion_of.get(genome_id, ()))})
        genome_id = parent_of.get(genome_id, -1)
    escape = {"generation": search.generation,
              "confidence": float(search.archive.confidence[target]),
              "ancestry": ancestry}
    print(json.dumps({"escape": escape}), flush=True)
    print(json.dumps({"benchmark": "cppn_stall", "seed": args.seed, "probe_at": args.probe_at,
                      "children": args.children, "stuck": stuck, "operators": operators,
                      "escape": escape}))


if __name__ == "__main__":
    main()
