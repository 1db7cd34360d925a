"""How far a CPPN's weights can move along the model's gradient before the class is lost.

Takes ``--parents`` champions of RUN (a CPPN run; its model, loaded as the run
records it), differentiates each champion's log-probability of its own class
(torch, as ``algorithm.gradient`` does), and scores, on the run's fastest exact
engine, children moved along the normalised gradient (unit: L2 length 1; sign:
signs scaled to length 1) by each of ``--steps``, with the backward pass drawn at
each of ``--resolutions`` (0: the model's own). Reports per setting the share of
children better than their parent in that class and the median ratio of child to
parent probability; for reference the same for the encoding's own mutation
(``--mutants`` per champion). Also the seconds one gradient costs against one
exact evaluation. The last stdout line is the whole result as JSON.

    python benchmarks/gradient_steps.py RUN [--parents 24] [--steps 0.003 0.01 0.03 0.1 0.3 1]
        [--resolutions 0 64] [--mutants 8]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch
from evaluator import cpu_model

from evofool.algorithms.gradient_variation import normalised_direction
from evofool.encodings.genome_batch import take
from evofool.evaluation.scorer import ImageScorer
from evofool.models import load_classifiers
from evofool.randomness import RunRandomness
from evofool.run.stored import StoredRun


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--parents", type=int, default=24)
    parser.add_argument("--steps", type=float, nargs="+", default=[0.003, 0.01, 0.03, 0.1, 0.3, 1])
    parser.add_argument("--resolutions", type=int, nargs="+", default=[0, 64])
    parser.add_argument("--mutants", type=int, default=8)
    args = parser.parse_args()
    stored = StoredRun(args.run)
    champions = random.Random(0).sample(stored.champions(),
                                        min(args.parents, len(stored.champions())))
    genomes = stored.genomes([champion.genome_id for champion in champions])
    targets = torch.tensor([champion.class_index for champion in champions])
    classifier = load_classifiers(stored.config.model_specs, stored.config.evaluator.combine)
    engine = stored.config.evaluator.engine
    exact = ImageScorer(classifier, device="cpu", max_batch=16,
                        engine="onnxruntime" if engine == "auto" else engine)
    twin = exact.torch_twin()
    encoding = stored.encoding

    def probability(batch, repeat=1):
        scores = exact.score(encoding.render(batch))
        return scores.gather(1, targets.repeat_interleave(repeat).view(-1, 1)).flatten()

    parents = probability(genomes)  # the engine's first call warms it up: time the second
    started = time.perf_counter()
    probability(genomes)
    exact_seconds = (time.perf_counter() - started) / len(targets)

    def judged(children, repeat=1):
        ratio = probability(children, repeat) / parents.repeat_interleave(repeat)
        return {"improved": round(float((ratio > 1).float().mean()), 3),
                "median_ratio": round(float(ratio.median()), 4)}

    mutants = encoding.offspring(take(genomes, torch.arange(len(targets)).repeat_interleave(
        args.mutants)), None, RunRandomness(1), generation=1)
    rows = [{"operator": "mutation", **judged(mutants, args.mutants)}]
    twin.log_probability_gradient(encoding.render(genomes).clone(), targets)  # warm-up
    gradient_seconds = None
    for resolution in args.resolutions:
        started = time.perf_counter()
        _, pixel_gradient = twin.log_probability_gradient(encoding.render(genomes).clone(),
                                                          targets)
        raw = encoding.gradient_direction(genomes, pixel_gradient,
                                          resolution=resolution or None)
        gradient_seconds = (time.perf_counter() - started) / len(targets)
        for how in ("unit", "sign"):
            direction, _ = normalised_direction(raw, how, None, 1)
            for step in args.steps:
                children = encoding.stepped(genomes, direction, torch.full((len(targets),), step))
                rows.append({"operator": f"gradient {how}", "resolution": resolution or "model",
                             "step": step, **judged(children)})
        rows[-1]["seconds_per_gradient"] = round(gradient_seconds, 4)
    for row in rows:
        print(json.dumps(row))
    print(json.dumps({"benchmark": "gradient_steps", "cpu": cpu_model(), "run": str(args.run),
                      "parents": len(targets),
                      "median_parent_probability": round(float(parents.median()), 5),
                      "exact_seconds_per_image": round(exact_seconds, 5),
                      "gradient_over_exact": round(gradient_seconds / exact_seconds, 2),
                      "rows": rows}))


if __name__ == "__main__":
    main()
