"""One evolution run from config to results: build, loop until a stop condition, write."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from evofool.components import build_algorithm, build_classifier, build_encoding
from evofool.config import RunConfig
from evofool.errors import EvofoolError
from evofool.evaluator import BatchedEvaluator
from evofool.progress import ProgressReporter
from evofool.run_output import summarise, write_config, write_results


def new_run_dir(config: RunConfig, out: Path | None, runs_root: Path = Path("runs")) -> Path:
    """``out`` if given, else ``runs/<name>-<timestamp>``; never an existing, non-empty one."""
    run_dir = out or runs_root / f"{config.name}-{datetime.now():%Y%m%d-%H%M%S}"
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise EvofoolError(f"{run_dir} already exists and is not empty; choose another --out")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise EvofoolError(f"cannot create run directory {run_dir}: {error.strerror}") from error
    return run_dir


def run_job(config: RunConfig, run_dir: Path, *, progress: bool = True) -> dict[str, Any]:
    """Evolve until the config's first stop condition; return the summary written to run_dir."""
    classifier = build_classifier(config)
    evaluator = BatchedEvaluator(classifier, device=config.evaluator.device,
                                 max_batch=config.evaluator.max_batch, amp=config.evaluator.amp)
    encoding = build_encoding(config, classifier)
    algorithm = build_algorithm(config, encoding, evaluator)
    write_config(config, run_dir)
    reporter = ProgressReporter(total_generations=config.generations, enabled=progress)
    started = time.perf_counter()
    try:
        while not _should_stop(config, algorithm, time.perf_counter() - started):
            algorithm.step()
            best, median, worst = _confidence_spread(algorithm)
            reporter.update(generation=algorithm.generation, evaluations=algorithm.evaluations,
                            best=best, median=median, worst=worst)
        reporter.update(generation=algorithm.generation, evaluations=algorithm.evaluations,
                        best=best, median=median, worst=worst, final=True)
    finally:
        reporter.close()
    summary = summarise(algorithm.archive, evaluator.class_names,
                        generations=algorithm.generation, evaluations=algorithm.evaluations,
                        wall_seconds=time.perf_counter() - started)
    write_results(run_dir, algorithm.archive, encoding, summary, evaluator.class_names)
    return summary


def _confidence_spread(algorithm) -> tuple[float, float, float]:
    values = algorithm.archive.confidence[algorithm.classes_in_play].clamp_min(0)
    spread = torch.stack([values.max(), values.median(), values.min()]).tolist()
    return spread[0], spread[1], spread[2]


def _should_stop(config: RunConfig, algorithm, elapsed: float) -> bool:
    if config.generations is not None and algorithm.generation >= config.generations:
        return True
    if config.evaluations is not None and algorithm.evaluations >= config.evaluations:
        return True
    if config.wall_seconds is not None and elapsed >= config.wall_seconds:
        return True
    if config.stop_when_all_at is not None and algorithm.generation > 0:
        confidence = algorithm.archive.confidence[algorithm.classes_in_play]
        return bool((confidence >= config.stop_when_all_at).all())
    return False
