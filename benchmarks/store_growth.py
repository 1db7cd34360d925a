"""How big a 5000-generation ImageNet run's store grows, under each history policy.

For each (config, ``store.history``): a run warms up for ``--warmup`` generations,
is resumed for ``--measure`` more, and the store (``run.sqlite`` and its WAL) is
weighed after each. ``bytes_per_generation`` is the growth over the measured
generations; ``projected_gb_5000_generations`` extends it linearly, which
overstates a real run: champions change less often as it goes on. For the
``milestones`` policy ``bound_gb`` is the design's ceiling for the genome payloads
(every class: its exact champion plus TOP_LEVEL 8-bit milestones) plus the
projected growth (history and lineage rows, and the milestones met while measuring,
so those count twice: a ceiling, not an estimate). Also weighed: the run directory with its
checkpoints. The last stdout line is the whole result as JSON.

    python benchmarks/store_growth.py [--model efficientnet-lite0] [--warmup 5] [--measure 15]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

from evaluator import cpu_model

from evofool.config import load_config
from evofool.job import EvolutionJob
from evofool.store.history import TOP_LEVEL

CONFIGS = Path(__file__).parents[1] / "configs"
GENERATIONS = 5000
CASES = [("imagenet_direct.yaml", "all"), ("imagenet_direct.yaml", "auto"),
         ("imagenet_cppn.yaml", "auto")]


def store_bytes(run_dir: Path) -> int:
    return sum(path.stat().st_size for path in run_dir.glob("run.sqlite*"))


def directory_bytes(run_dir: Path) -> int:
    return sum(path.stat().st_size for path in run_dir.rglob("*") if path.is_file())


def measure(config_name: str, history: str, model: str, warmup: int, generations: int,
            run_dir: Path) -> dict:
    config = load_config(CONFIGS / config_name, [
        "evaluator.device=cpu", f"model={model}", f"generations={warmup}",
        f"store.history={history}"])
    job = EvolutionJob.start(config, run_dir, progress=False)
    job.run()
    kept_all = job.keep_every_genome
    before = store_bytes(run_dir)
    EvolutionJob.resume(run_dir, [f"generations={warmup + generations}"],
                        progress=False).run()
    after = store_bytes(run_dir)
    per_generation = (after - before) / generations
    projected = before + per_generation * (GENERATIONS - warmup)
    row = {"config": config_name, "history": history,
           "policy": "all" if kept_all else "milestones",
           "store_bytes_after_warmup": before, "store_bytes_after_measure": after,
           "bytes_per_generation": round(per_generation),
           "projected_gb_5000_generations": round(projected / 1e9, 3),
           "run_dir_gb_now": round(directory_bytes(run_dir) / 1e9, 3)}
    if not kept_all:
        classes = len(job.class_names)
        exact = 4 * math.prod(job.encoding.image_shape)
        payloads = classes * (exact + TOP_LEVEL * exact // 4)
        row["bound_gb"] = round((payloads + max(projected - before, 0)) / 1e9, 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet-lite0")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--measure", type=int, default=15)
    args = parser.parse_args()
    rows = []
    for config_name, history in CASES:
        with tempfile.TemporaryDirectory() as scratch:
            row = measure(config_name, history, args.model, args.warmup, args.measure,
                          Path(scratch) / "run")
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"benchmark": "store_growth", "cpu": cpu_model(), "model": args.model,
                      "warmup": args.warmup, "measured_generations": args.measure,
                      "rows": rows}))


if __name__ == "__main__":
    main()
