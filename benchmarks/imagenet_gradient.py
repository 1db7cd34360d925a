"""Gradient children against evolution alone on the ImageNet CPPN job, at equal run time.

For every seed, runs each variant (``NAME=override;override``, applied with ``--set`` to
``configs/imagenet_cppn.yaml``) through ``benchmarks/imagenet_run.py`` for ``--minutes``
of run time, one run at a time so each has the whole machine; a run that already
exists under ``--out`` is continued (``evofool resume``, exact) up to the minutes given,
so a 10-minute study grows into a 60-minute one without redoing anything (one already
that long is only read). Prints one JSON line per run (median best confidence, classes
>= 0.99, evaluations and gradient steps at each ``--every-minutes`` mark; and what the
first ``--slots`` children of each generation won: the cells they took and the confidence
they added, which in a gradient run are its gradient children and in an evolution run
mutants in the same places), then the whole table as the last line.

    python benchmarks/imagenet_gradient.py --minutes 10 --seeds 0 1 2
        [--variant NAME=key=value;key=value ...] [--out runs/imagenet-gradient]
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

from evaluator import cpu_model
from imagenet_run import curve

BENCHMARKS = Path(__file__).parent
# evolution alone against the gradient operator's defaults (those the study measured)
DEFAULT_VARIANTS = ["evolution=", "gradient=algorithm.gradient={}"]


def parse_variant(text: str) -> tuple[str, list[str]]:
    name, _, overrides = text.partition("=")
    return name, [item for item in overrides.split(";") if item]


def run_variant(overrides: list[str], seed: int, minutes: float, every: float,
                run_dir: Path) -> dict:
    """One run through imagenet_run.py, continued where it exists and is shorter; its curve."""
    summary = run_dir / "summary.json"
    done = json.loads(summary.read_text())["wall_seconds"] if summary.exists() else 0.0
    if done < minutes * 60 - 1:
        command = [sys.executable, str(BENCHMARKS / "imagenet_run.py"), "--minutes",
                   str(minutes), "--every-minutes", str(every), "--out", str(run_dir)]
        if (run_dir / "run.sqlite").exists():
            command.append("--resume")
        else:
            command += [f"--set=seed={seed}", *[f"--set={item}" for item in overrides]]
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        if finished.returncode != 0:
            sys.exit(f"imagenet_gradient: {run_dir}: {finished.stderr.strip()[-400:]}")
    points = curve(run_dir, every * 60)
    steps = gradient_steps_at(run_dir, [point["evaluations"] for point in points])
    return {"curve": [{**point, "gradient_steps": step}
                      for point, step in zip(points, steps, strict=True)],
            "evaluations_per_s": json.loads(summary.read_text())["evaluations_per_s_overall"]}


def slot_gains(run_dir: Path, slots: int, batch: int) -> dict:
    """What the first ``slots`` children of every generation after the first (genome ids
    ``generation * batch`` on) won against the rest: cells taken, and the confidence
    added over the champion each replaced, from the store's history."""
    connection = sqlite3.connect(f"file:{run_dir / 'run.sqlite'}?mode=ro", uri=True)
    rows = connection.execute("SELECT class, genome_id, generation, confidence FROM history "
                              "ORDER BY id").fetchall()
    connection.close()
    best: dict[int, float] = {}
    won = {"first": [0, 0.0], "rest": [0, 0.0]}
    for class_index, genome_id, generation, confidence in rows:
        if generation > 0:
            tally = won["first" if genome_id % batch < slots else "rest"]
            tally[0] += 1
            tally[1] += confidence - best.get(class_index, 0.0)
        best[class_index] = confidence
    return {f"{part}_{slots if part == 'first' else 'others'}": {
                "cells_taken": taken, "confidence_added": round(added, 2)}
            for part, (taken, added) in won.items()}


def gradient_steps_at(run_dir: Path, evaluations: list[int]) -> list[int]:
    """The gradient steps metrics.csv counts once each of ``evaluations`` was reached."""
    with open(run_dir / "metrics.csv", newline="") as stream:
        rows = [(int(row["evaluations"]), int(row.get("gradient_steps") or 0))
                for row in csv.DictReader(stream)]
    return [max((steps for seen, steps in rows if seen <= mark), default=0)
            for mark in evaluations]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variant", action="append", dest="variants")
    parser.add_argument("--every-minutes", type=float, default=10.0)
    parser.add_argument("--set", action="append", default=[], dest="common",
                        help="an override every variant gets (the smoke run's tiny model)")
    parser.add_argument("--out", type=Path, default=Path("runs") / "imagenet-gradient")
    parser.add_argument("--slots", type=int, default=32,
                        help="children per generation the gradient operator makes (4 x 8)")
    parser.add_argument("--batch", type=int, default=400, help="the config's batch_size")
    args = parser.parse_args()
    table: dict[str, dict[str, dict]] = {}
    for seed in args.seeds:
        for name, overrides in map(parse_variant, args.variants or DEFAULT_VARIANTS):
            run_dir = args.out / f"{name}-seed{seed}"
            result = run_variant([*args.common, *overrides], seed, args.minutes,
                                 args.every_minutes, run_dir)
            result["slots"] = slot_gains(run_dir, args.slots, args.batch)
            table.setdefault(name, {})[str(seed)] = result
            print(json.dumps({"variant": name, "seed": seed, **result}), flush=True)
    means = {name: {"median_confidence": statistics.mean(
                        runs[seed]["curve"][-1]["median_confidence"] for seed in runs),
                    "classes_at_0.99": statistics.mean(
                        runs[seed]["curve"][-1]["classes_at_0.99"] for seed in runs)}
             for name, runs in table.items()}
    print(json.dumps({"benchmark": "imagenet_gradient", "cpu": cpu_model(),
                      "minutes": args.minutes, "seeds": args.seeds, "means": means,
                      "runs": table}))


if __name__ == "__main__":
    main()
