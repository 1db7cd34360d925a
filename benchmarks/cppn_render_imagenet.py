"""Does the CPPN renderer keep up at ImageNet size: 400 genomes at 224 x 224, both renderers.

The genomes are a run's champions (``--from-run RUN``: the first 400 classes'
champions from its store, as they are after hundreds of generations; the run
may still be going) or, without a run, random genomes grown by
``--rounds`` rounds of unselected mutation with the shipped ImageNet config's
rates. Times ``render_population`` (on a CPU the compiled kernel) into a reused
``ImageBuffer`` as a run draws, the same into fresh memory each time, and the
torch path (``render_with_torch``, what a GPU runs) in one process, best of
``--repeats``, interleaved; reports their ratio, the largest difference
between their images, and the share of computed nodes of each kind (the
kernel draws X, Y and CONST nodes along one line). Issue 22's goal: <= 0.1 s
for 400 genomes on 2 cores. The last stdout line is JSON.

    python benchmarks/cppn_render_imagenet.py [--from-run runs/imagenet-60min-screen]
        [--rounds 300] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from evofool.encodings.cppn.encoding import CppnEncoding, CppnSettings
from evofool.encodings.cppn.program import build_program
from evofool.encodings.cppn.render import render_population, render_with_torch
from evofool.encodings.image_buffer import ImageBuffer
from evofool.randomness import RunRandomness
from evofool.run.config import load_config
from evofool.run.stored import StoredRun

CONFIG = Path(__file__).parents[1] / "configs" / "imagenet_cppn.yaml"
GENOMES, SIZE = 400, 224


def population(args: argparse.Namespace, encoding: CppnEncoding) -> dict[str, torch.Tensor]:
    if args.from_run:
        run = StoredRun(args.from_run)
        try:
            champions = sorted(run.champions(), key=lambda champion: champion.class_index)
            return run.genomes([champion.genome_id for champion in champions[:GENOMES]])
        finally:
            run.close()
    rng = RunRandomness(0)
    genomes = encoding.random(GENOMES, rng)
    for generation in range(args.rounds):
        genomes = encoding.offspring(genomes, None, rng, generation)
    return genomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-run", type=Path)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    settings = load_config(CONFIG).encoding
    assert isinstance(settings, CppnSettings)
    encoding = CppnEncoding.from_settings(settings, (3, SIZE, SIZE))
    genomes = population(args, encoding)
    buffer = ImageBuffer()
    renderers = {
        "kernel": lambda: render_population(genomes, outputs=3, height=SIZE, width=SIZE,
                                            buffer=buffer),
        "kernel_fresh_memory": lambda: render_population(genomes, outputs=3, height=SIZE,
                                                         width=SIZE),
        "torch": lambda: render_with_torch(genomes, outputs=3, height=SIZE, width=SIZE)}
    # also compiles; a copy, since the buffer's images are overwritten by the next call
    images = {name: render().clone() for name, render in renderers.items()}
    seconds = {name: [] for name in renderers}
    for _ in range(args.repeats):
        for name, render in renderers.items():
            started = time.perf_counter()
            render()
            seconds[name].append(time.perf_counter() - started)
    best = {name: min(times) for name, times in seconds.items()}
    kinds = torch.bincount(build_program(genomes, outputs=3).kind, minlength=4).tolist()
    computed = sum(kinds) - 4 * GENOMES  # each genome's four inputs are rows too
    print(json.dumps({
        "benchmark": "cppn_render_imagenet", "threads": torch.get_num_threads(),
        "genomes": GENOMES, "size": SIZE,
        "source": str(args.from_run) if args.from_run else f"{args.rounds} mutation rounds",
        "hidden_nodes_per_genome": round(float(
            genomes["alive"][:, 7:].sum(1).float().mean()), 2),
        "connections_per_genome": round(float(
            genomes["connected"].sum((1, 2)).float().mean()), 2),
        "computed_nodes_by_kind": dict(zip(
            ["const", "x", "y", "full"],
            [kinds[0] - GENOMES, kinds[1] - GENOMES, kinds[2] - GENOMES,
             kinds[3] - GENOMES], strict=True)),
        "computed_nodes": computed,
        "kernel_s": round(best["kernel"], 4),
        "kernel_fresh_memory_s": round(best["kernel_fresh_memory"], 4),
        "torch_s": round(best["torch"], 4),
        "kernel_speedup": round(best["torch"] / best["kernel"], 2),
        "max_abs_difference": float((images["kernel"] - images["torch"]).abs().max()),
        "buffer_changes_no_bit": bool(torch.equal(images["kernel"],
                                                  images["kernel_fresh_memory"])),
        "goal_s": 0.1, "goal_met": best["kernel"] <= 0.1}))


if __name__ == "__main__":
    main()
