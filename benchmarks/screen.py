"""How much a screen saves and what it misses, by margin, on a run as it is after hours.

Copies RUN (a run whose search screens, or not) and continues the copy for
``--generations`` generations with every child scored on both the screening
engine and the exact one (the exact scores drive the search, as an audited
generation's do). For each margin (log-odds added to a screened score, see
evofool.evaluation.screen) it reports the share of children the screen would
have confirmed (what the exact engine would still score) and the share of true
improvements (children whose exact scores take a cell) it would have missed.
Goal (issue 22): missed <= 2 %. Also the screened and exact engines' images/s
on those children, so the cost per child, ``1 / speedup + confirmed share``,
can be read off. The last stdout line is the whole result as JSON.

    python benchmarks/screen.py RUN [--generations 20] [--engine openvino-bf16]
                                    [--margins 0.25 0.5 1 1.5 2 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch
from evaluator import cpu_model

from evofool.evaluation.screen import Screen, ScreenStats, could_improve
from evofool.run.job import EvolutionJob


class RecordingScreen(Screen):
    """Scores every child on both engines; keeps both, and what each child had to beat."""

    def __init__(self, engine: str) -> None:
        super().__init__(engine=engine, margin=0.0, audit_every=1, cost_ratio=1.0,
                         always=True)
        self.records: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.seconds = {"screen": 0.0, "exact": 0.0}
        self.images = 0

    def probabilities(self, images, thresholds, *, exact, screened, generation):
        started = time.perf_counter()
        screened = screened(images).to(thresholds.device)
        middle = time.perf_counter()
        probabilities = exact(images)
        self.seconds["screen"] += middle - started
        self.seconds["exact"] += time.perf_counter() - middle
        self.images += images.shape[0]
        self.records.append((screened, probabilities, thresholds.clone()))
        count = int(images.shape[0])
        return probabilities, ScreenStats(count, count, decision="audit")


def study(run_dir: Path, generations: int, engine: str, margins: list[float]) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / run_dir.name
        shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("writer.lock"))
        job = EvolutionJob.resume(copy, [f"evaluator.screen={{engine: {engine}}}",
                                         f"generations={10**9}", "wall_seconds=null",
                                         "evaluations=null", "stop_when_all_at=null"],
                                  force=True, progress=False)
        from evofool.evaluation.scorer import scorer_for
        from evofool.models import load_classifiers

        config = job.config
        classifier = load_classifiers(config.model_specs, config.evaluator.combine)
        recording = RecordingScreen(engine)
        job.evaluator.screen = recording  # in front of the exact engine, every generation
        job.evaluator.screen_scorer = scorer_for(classifier, config.evaluator, engine=engine,
                                                 screening=True)
        start = job.algorithm.generation
        for _ in range(generations):
            job.algorithm.step()
        job.recorder.close()
        job.directory.release()
    rows = []
    for margin in margins:
        children = confirmed = true = missed = 0
        for screened, exact, thresholds in recording.records:
            candidates = could_improve(screened, thresholds, margin)
            improvers = (exact > thresholds).any(dim=1)
            children += screened.shape[0]
            confirmed += int(candidates.sum())
            true += int(improvers.sum())
            missed += int((improvers & ~candidates).sum())
        rows.append({"margin": margin, "confirmed_share": round(confirmed / children, 4),
                     "true_improvers_share": round(true / children, 4),
                     "missed_share": round(missed / true, 4) if true else None})
        print(json.dumps(rows[-1]), flush=True)
    speedup = recording.seconds["exact"] / recording.seconds["screen"]
    return {"run": str(run_dir), "from_generation": start, "generations": generations,
            "screen_engine": engine, "exact_engine": job.evaluator.scorer.engine,
            "screen_images_per_s": round(recording.images / recording.seconds["screen"], 1),
            "exact_images_per_s": round(recording.images / recording.seconds["exact"], 1),
            "screen_speedup": round(speedup, 3), "margins": rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--engine", default="openvino-bf16")
    parser.add_argument("--margins", type=float, nargs="+", default=[0.25, 0.5, 1, 1.5, 2, 3])
    args = parser.parse_args(argv)
    result = study(args.run, args.generations, args.engine, args.margins)
    print(json.dumps({"benchmark": "screen", "cpu": cpu_model(),
                      "threads": torch.get_num_threads(), **result}))


if __name__ == "__main__":
    main()
