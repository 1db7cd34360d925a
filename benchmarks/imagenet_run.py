"""The paper's ImageNet CPPN experiment on this machine's CPU, for a fixed number of minutes.

Runs ``evofool run CONFIG`` (default ``configs/imagenet_cppn.yaml``: all 1000
classes of the offline EfficientNet-Lite0) as a user would, with
``generations=null`` and ``wall_seconds`` = the minutes given, and reads the
run's store (read-only, while it runs) every ``--every-minutes`` to print the
curve: evaluations, median best confidence, classes >= 0.99 and >= 0.9999.
Evaluations/s is over the whole job's wall time, start-up and the end-of-run
writes included. Writes the curve as ``PLOT`` (default RUN/plots/curve.png);
the last stdout line is the whole result as JSON.

    python benchmarks/imagenet_run.py --minutes 60 [--config configs/imagenet_cppn.yaml]
        [--out runs/imagenet-60min] [--set key=value ...] [--every-minutes 5]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from evaluator import cpu_model  # noqa: E402

CONFIGS = Path(__file__).parents[1] / "configs"


def best_confidences(run_dir: Path) -> tuple[list[float], int] | None:
    """Every class's best confidence (0 without a champion yet) and the evaluations so far,
    read from the store; None while the store has no champion."""
    try:
        connection = sqlite3.connect(f"file:{run_dir / 'run.sqlite'}?mode=ro", uri=True)
        confidences = [row[0] for row in connection.execute("SELECT confidence FROM champions")]
        evaluations = connection.execute("SELECT max(evaluations) FROM history").fetchone()[0]
        classes = len(json.loads(connection.execute(
            "SELECT value FROM meta WHERE key = 'class_names'").fetchone()[0]))
        connection.close()
    except (sqlite3.Error, TypeError):
        return None
    if not confidences:
        return None
    return confidences + [0.0] * (classes - len(confidences)), evaluations or 0


def curve_point(run_dir: Path, elapsed: float) -> dict | None:
    """Median best confidence and classes over the thresholds, from the store."""
    read = best_confidences(run_dir)
    if read is None:
        return None
    confidences, evaluations = read
    return {"minutes": round(elapsed / 60, 2), "evaluations": evaluations,
            "median_confidence": round(statistics.median(confidences), 5),
            "classes_at_0.99": sum(value >= 0.99 for value in confidences),
            "classes_at_0.9999": sum(value >= 0.9999 for value in confidences)}


def plot_curve(points: list[dict], path: Path, title: str) -> None:
    figure, median_axis = plt.subplots(figsize=(7, 4))
    evaluations = [point["evaluations"] for point in points]
    median_axis.plot(evaluations, [point["median_confidence"] for point in points], "C0-o",
                     label="median best confidence")
    median_axis.set_xlabel("evaluations")
    median_axis.set_ylabel("median best confidence", color="C0")
    median_axis.set_ylim(0, 1)
    count_axis = median_axis.twinx()
    count_axis.plot(evaluations, [point["classes_at_0.99"] for point in points], "C1-s",
                    label="classes >= 0.99")
    count_axis.plot(evaluations, [point["classes_at_0.9999"] for point in points], "C2-^",
                    label="classes >= 0.9999")
    count_axis.set_ylabel("classes (of 1000)")
    figure.legend(loc="upper left", bbox_to_anchor=(0.1, 0.9))
    median_axis.set_title(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--config", type=Path, default=CONFIGS / "imagenet_cppn.yaml")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--every-minutes", type=float, default=5.0)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    run_dir = args.out or Path("runs") / f"{args.config.stem}-{args.minutes:g}min-{time.time():.0f}"
    overrides = ["generations=null", f"wall_seconds={args.minutes * 60}",
                 "evaluator.device=cpu", *args.overrides]
    command = [sys.executable, "-m", "evofool", "run", str(args.config), "--out", str(run_dir),
               "--quiet", *[f"--set={override}" for override in overrides]]
    started = time.perf_counter()
    process = subprocess.Popen(command)
    points = []
    next_report = args.every_minutes * 60
    while process.poll() is None:
        time.sleep(1.0)
        elapsed = time.perf_counter() - started
        if elapsed >= next_report:
            next_report += args.every_minutes * 60
            point = curve_point(run_dir, elapsed)
            if point is not None:
                points.append(point)
                print(json.dumps(point), flush=True)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"imagenet_run: evofool run failed with exit code {process.returncode}")
    summary = json.loads((run_dir / "summary.json").read_text())
    final = curve_point(run_dir, wall)
    points.append(final)
    plot_path = args.plot or run_dir / "plots" / "curve.png"
    plot_curve(points, plot_path, f"{args.config.name}, {args.minutes:g} min on {cpu_model()}")
    print(json.dumps({"benchmark": "imagenet_run", "config": str(args.config),
                      "overrides": args.overrides, "cpu": cpu_model(), "run_dir": str(run_dir),
                      "engine": summary.get("engine"), "generations": summary["generations"],
                      "evaluations": summary["evaluations"], "job_wall_seconds": round(wall, 1),
                      "evaluations_per_s_whole_job": round(summary["evaluations"] / wall, 1),
                      "final": final, "curve": points, "plot": str(plot_path)}))


if __name__ == "__main__":
    main()
