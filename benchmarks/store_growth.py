"""How big a 5000-generation ImageNet run's store grows, under each history policy.

For each (config, ``store.history``): a run warms up for ``--warmup`` generations,
is resumed for ``--measure`` more, and the store (``run.sqlite``) is weighed after
each, split into genome payloads (exact, 8-bit, JSON) and the rest (history and
lineage rows, indexes, free pages). ``projected_gb_5000_generations`` extends the
growth linearly. Under ``all`` that is the honest estimate (every replacement adds
its payload; it overstates a real run a little, since champions change less often
later). Under ``milestones`` the payloads cannot grow linearly: they are capped by
design at one exact champion per class plus TOP_LEVEL 8-bit milestones per class
(``payload_cap_gb``); only the rest grows with the generations, so the projection
is that cap plus the rest's measured growth extended. The rest includes free pages
(``free_pages``: payloads thinned but not yet reused), so this overstates too. Also weighed: the run
directory with its checkpoints. The last stdout line is the whole result as JSON.

    python benchmarks/store_growth.py [--model efficientnet-lite0] [--warmup 5] [--measure 15]
        [--cases imagenet_direct.yaml:all imagenet_direct.yaml:auto imagenet_cppn.yaml:auto]
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import tempfile
from pathlib import Path

from evaluator import cpu_model

from evofool.run.config import load_config
from evofool.run.job import EvolutionJob
from evofool.store.history import TOP_LEVEL

CONFIGS = Path(__file__).parents[1] / "configs"
GENERATIONS = 5000
CASES = ["imagenet_direct.yaml:all", "imagenet_direct.yaml:auto", "imagenet_cppn.yaml:auto"]


def store_bytes(run_dir: Path) -> dict[str, int]:
    """The store's size on disk and its genome payloads by kind (exact array "A",
    8-bit "U", JSON "J"); the rest is rows, indexes and free pages."""
    connection = sqlite3.connect(f"file:{run_dir / 'run.sqlite'}?mode=ro", uri=True)
    kinds = connection.execute(
        "SELECT substr(payload, 1, 1), sum(length(payload)), count(*) FROM genomes"
        " WHERE length(payload) > 0 GROUP BY 1").fetchall()
    payloads = {kind: size for kind, size, _ in kinds}
    exact_genomes = sum(count for kind, _, count in kinds if kind == b"A")
    history = connection.execute("SELECT count(*) FROM history").fetchone()[0]
    free = (connection.execute("PRAGMA freelist_count").fetchone()[0]
            * connection.execute("PRAGMA page_size").fetchone()[0])
    connection.close()
    total = sum(path.stat().st_size for path in run_dir.glob("run.sqlite*"))
    payload = sum(payloads.values())
    return {"file": total, "payload": payload, "rest": total - payload, "free_pages": free,
            "exact": payloads.get(b"A", 0), "8bit": payloads.get(b"U", 0),
            "json": payloads.get(b"J", 0), "exact_genomes": exact_genomes,
            "history_rows": history}


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
    remaining = GENERATIONS - warmup - generations
    per_generation = (after["file"] - before["file"]) / generations
    rest_per_generation = (after["rest"] - before["rest"]) / generations
    row = {"config": config_name, "history": history,
           "policy": "all" if kept_all else "milestones",
           "after_warmup": before, "after_measure": after,
           "bytes_per_generation": round(per_generation),
           "rest_bytes_per_generation": round(rest_per_generation),
           "history_rows_per_generation": round(
               (after["history_rows"] - before["history_rows"]) / generations, 1),
           "run_dir_gb_now": round(directory_bytes(run_dir) / 1e9, 3)}
    if kept_all:
        projected = after["file"] + per_generation * remaining
    else:
        classes = len(job.class_names)
        exact = max(after["exact"] / max(after["exact_genomes"], 1), 1)
        cap = classes * (exact + TOP_LEVEL * math.prod(job.encoding.image_shape))
        row["payload_cap_gb"] = round(cap / 1e9, 3)
        projected = cap + after["rest"] + max(rest_per_generation, 0) * remaining
    row["projected_gb_5000_generations"] = round(projected / 1e9, 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet-lite0")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--measure", type=int, default=15)
    parser.add_argument("--cases", nargs="+", default=CASES, metavar="CONFIG:HISTORY")
    args = parser.parse_args()
    rows = []
    for case in args.cases:
        config_name, _, history = case.partition(":")
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
