"""Gradient children against evolution alone on the ImageNet CPPN job, at equal run time.

For every seed, runs each variant (``NAME=override;override``, applied with ``--set`` to
``configs/imagenet_cppn.yaml``) through ``benchmarks/imagenet_run.py`` for ``--minutes``
of run time, one run at a time so each has the whole machine; a run that already
exists under ``--out`` is continued (``evofool resume``, exact) up to the minutes given,
so a 10-minute study grows into a 60-minute one without redoing anything. Prints one
JSON line per run (median best confidence, classes >= 0.99, evaluations and gradient
steps at each ``--every-minutes`` mark), then the whole table as the last line.

    python benchmarks/imagenet_gradient.py --minutes 10 --seeds 0 1 2
        [--variant NAME=key=value;key=value ...] [--out runs/imagenet-gradient]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
from pathlib import Path

from evaluator import cpu_model

BENCHMARKS = Path(__file__).parent
# evolution alone against the gradient operator's defaults (those the study measured)
DEFAULT_VARIANTS = ["evolution=", "gradient=algorithm.gradient={}"]


def parse_variant(text: str) -> tuple[str, list[str]]:
    name, _, overrides = text.partition("=")
    return name, [item for item in overrides.split(";") if item]


def run_variant(overrides: list[str], seed: int, minutes: float, every: float,
                run_dir: Path) -> dict:
    """One run through imagenet_run.py (continued where it exists); its curve."""
    command = [sys.executable, str(BENCHMARKS / "imagenet_run.py"), "--minutes", str(minutes),
               "--every-minutes", str(every), "--out", str(run_dir)]
    if (run_dir / "run.sqlite").exists():
        command.append("--resume")
    else:
        command += [f"--set=seed={seed}", *[f"--set={item}" for item in overrides]]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        sys.exit(f"imagenet_gradient: {run_dir}: {finished.stderr.strip()[-400:]}")
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    steps = gradient_steps_at(run_dir, [point["evaluations"] for point in result["curve"]])
    return {"curve": [{**point, "gradient_steps": step}
                      for point, step in zip(result["curve"], steps, strict=True)],
            "evaluations_per_s": result["evaluations_per_s_whole_job"]}


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
    args = parser.parse_args()
    table: dict[str, dict[str, dict]] = {}
    for seed in args.seeds:
        for name, overrides in map(parse_variant, args.variants or DEFAULT_VARIANTS):
            result = run_variant([*args.common, *overrides], seed, args.minutes,
                                 args.every_minutes, args.out / f"{name}-seed{seed}")
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
