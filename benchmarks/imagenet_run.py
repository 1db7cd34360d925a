"""The paper's ImageNet CPPN experiment on this machine's CPU, for a fixed number of minutes.

Runs ``evofool run CONFIG`` (default ``configs/imagenet_cppn.yaml``: all 1000
classes of the offline EfficientNet-Lite0) as a user would, with
``generations=null`` and ``wall_seconds`` = the minutes given; with
``--resume`` it continues the run at ``--out`` (``evofool resume``, exact) until
its run time reaches the minutes given, so a long run can be made in pieces.
The curve -- evaluations, median best confidence, classes >= 0.99 and >= 0.9999
every ``--every-minutes`` of run time -- is read from the run's store and
metrics.csv, so pieces give the curve of one unbroken run (time between pieces
does not count). A point is printed as each mark passes. Evaluations/s is over
this invocation's wall time, start-up and the end-of-run writes included;
``peak_rss_mb`` the run process's peak resident memory.
Writes the curve as ``PLOT`` (default RUN/plots/curve.png); the last stdout
line is the whole result as JSON.

    python benchmarks/imagenet_run.py --minutes 60 [--config configs/imagenet_cppn.yaml]
        [--out runs/imagenet-60min] [--set key=value ...] [--every-minutes 5]
    python benchmarks/imagenet_run.py --minutes 180 --out runs/imagenet-60min --resume
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from evaluator import cpu_model, peak_rss_mb  # noqa: E402

from evofool.archive.confidence import (  # noqa: E402
    FOOLED_KEY,
    FOOLED_THRESHOLD,
    STRICT_THRESHOLD,
    classes_fooled,
    count_key,
)

CONFIGS = Path(__file__).parents[1] / "configs"
STRICT_KEY = count_key(STRICT_THRESHOLD)


def run_time_marks(run_dir: Path) -> list[tuple[float, int]]:
    """(run seconds, evaluations) after each generation, from metrics.csv (run time
    excludes the time between a stop and its resume)."""
    try:
        with open(run_dir / "metrics.csv", newline="") as stream:
            return [(float(row["wall_seconds"]), int(row["evaluations"]))
                    for row in csv.DictReader(stream)]
    except (OSError, KeyError, ValueError):
        return []


def best_confidences(run_dir: Path, evaluations: int | None = None) -> list[float] | None:
    """Every class's best confidence once ``evaluations`` children were scored (None: so
    far; 0 for a class without a champion then), from the store's champion history; None
    without one."""
    try:
        connection = sqlite3.connect(f"file:{run_dir / 'run.sqlite'}?mode=ro", uri=True)
        rows = connection.execute("SELECT class, max(confidence) FROM history "
                                  "WHERE evaluations <= ? GROUP BY class",
                                  (evaluations if evaluations is not None else 2 ** 62,))
        best = dict(rows.fetchall())
        classes = len(json.loads(connection.execute(
            "SELECT value FROM meta WHERE key = 'class_names'").fetchone()[0]))
        connection.close()
    except (sqlite3.Error, TypeError):
        return None
    if not best:
        return None
    return [best.get(index, 0.0) for index in range(classes)]


def curve(run_dir: Path, every_seconds: float, after_seconds: float = 0.0) -> list[dict]:
    """A point at every multiple of ``every_seconds`` of run time past ``after_seconds``,
    and one at the end (while the run goes on, a poll reads only the new points)."""
    marks = run_time_marks(run_dir)
    if not marks:
        return []
    wanted = [every_seconds * step for step in range(1, int(marks[-1][0] // every_seconds) + 1)
              if every_seconds * step > after_seconds]
    points = []
    for seconds in [*wanted, marks[-1][0]]:
        evaluations = max((done for at, done in marks if at <= seconds), default=0)
        confidences = best_confidences(run_dir, evaluations)
        if confidences is None or (points and points[-1]["evaluations"] == evaluations):
            continue
        points.append({"minutes": round(seconds / 60, 2), "evaluations": evaluations,
                       "median_confidence": round(statistics.median(confidences), 5),
                       FOOLED_KEY: classes_fooled(confidences),
                       STRICT_KEY: sum(value >= STRICT_THRESHOLD for value in confidences)})
    return points


def plot_curve(points: list[dict], path: Path, title: str) -> None:
    figure, median_axis = plt.subplots(figsize=(7, 4))
    minutes = [point["minutes"] for point in points]
    median_axis.plot(minutes, [point["median_confidence"] for point in points], "C0-o",
                     label="median best confidence")
    median_axis.set_xlabel("minutes of run time")
    median_axis.set_ylabel("median best confidence", color="C0")
    median_axis.set_ylim(0, 1)
    count_axis = median_axis.twinx()
    count_axis.plot(minutes, [point[FOOLED_KEY] for point in points], "C1-s",
                    label=f"classes >= {FOOLED_THRESHOLD:g}")
    count_axis.plot(minutes, [point[STRICT_KEY] for point in points], "C2-^",
                    label=f"classes >= {STRICT_THRESHOLD:g}")
    count_axis.set_ylabel("classes (of 1000)")
    figure.legend(loc="upper left", bbox_to_anchor=(0.1, 0.9))
    median_axis.set_title(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


def evofool_command(args: argparse.Namespace, run_dir: Path) -> list[str]:
    """``evofool run`` for ``--minutes`` of run time, or with ``--resume`` ``evofool
    resume`` until the run's time reaches it."""
    overrides = [f"wall_seconds={args.minutes * 60}", *args.overrides]
    if args.resume:
        head = ["resume", str(run_dir)]
    else:
        head = ["run", str(args.config), "--out", str(run_dir)]
        overrides = ["generations=null", "evaluator.device=cpu", *overrides]
    return [sys.executable, "-m", "evofool", *head, "--quiet",
            *[f"--set={override}" for override in overrides]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, required=True,
                        help="run time to reach (with --resume: in all, earlier pieces included)")
    parser.add_argument("--config", type=Path, default=CONFIGS / "imagenet_cppn.yaml")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--resume", action="store_true", help="continue the run at --out")
    parser.add_argument("--every-minutes", type=float, default=5.0)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    if args.resume and args.out is None:
        parser.error("--resume needs the run to continue as --out")
    run_dir = args.out or Path("runs") / f"{args.config.stem}-{args.minutes:g}min-{time.time():.0f}"
    every_seconds = args.every_minutes * 60
    marks = run_time_marks(run_dir) if args.resume else []
    evaluations_before = marks[-1][1] if marks else 0
    started = time.perf_counter()
    process = subprocess.Popen(evofool_command(args, run_dir))
    printed_seconds = 0.0
    while process.poll() is None:
        time.sleep(min(5.0, every_seconds / 4))  # a short run is not kept waiting
        for point in curve(run_dir, every_seconds, printed_seconds)[:-1]:  # the last moves on
            printed_seconds = point["minutes"] * 60
            print(json.dumps(point), flush=True)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"imagenet_run: evofool failed with exit code {process.returncode}")
    summary = json.loads((run_dir / "summary.json").read_text())
    points = curve(run_dir, every_seconds)
    plot_path = args.plot or run_dir / "plots" / "curve.png"
    plot_curve(points, plot_path,
               f"{run_dir.name}, {points[-1]['minutes']:g} min of run time on {cpu_model()}")
    config = run_dir / "config.yaml" if args.resume else args.config
    print(json.dumps({"benchmark": "imagenet_run", "config": str(config),
                      "resumed": args.resume, "overrides": args.overrides, "cpu": cpu_model(),
                      "run_dir": str(run_dir), "engine": summary.get("engine"),
                      "generations": summary["generations"],
                      "evaluations": summary["evaluations"], "job_wall_seconds": round(wall, 1),
                      "evaluations_per_s_whole_job": round(
                          (summary["evaluations"] - evaluations_before) / wall, 1),
                      "peak_rss_mb": peak_rss_mb(resource.RUSAGE_CHILDREN),
                      "final": points[-1], "curve": points, "plot": str(plot_path)}))


if __name__ == "__main__":
    main()
