"""ImageNet-scale throughput of the whole job against the bare forward of the engine it used.

For each model and encoding: an ``EvolutionJob`` of the ImageNet config (all
1000 classes, ``--batch`` children per generation, store, metrics.csv,
checkpoints and champion PNGs as the config sets them) runs ``--warmup``
generations, then is resumed and timed for ``--generations`` more, end-of-run
writes included. ``whole_job_ratio`` = that wall time / the bare forward of
the engine the job used (ONNX Runtime or torch, chosen as the job chose it) on
the same number of model-sized images in the job's chunks (``evaluator.max_batch``),
in the same process (goal on 2 CPU cores: <= 1.15 for efficientnet-lite0 CPPN). Optionally
a full run of the ImageNet CPPN config for ``--full-run-evaluations``.

``--from-run RUN`` times the job where a long run spends its hours instead: a
copy of RUN (at generation >= 200, say) continued for ``--generations``, with
and without ``evaluator.screen``; ``speed_vs_fp32_forward`` = the whole job's
evaluations/s over the bare forward of the exact engine it used (the fastest
exact one here) on as many images in the same chunks (issue 34's goal on 2 cores:
>= 2.5 with avx512_bf16, >= 1.5 on an AVX2-only processor), with
the screened and confirmed children and the screen's decision (screen, exact,
audit) and expected cost per generation. From a fresh start: ``--from-run`` a
run of one generation. ``peak_rss_mb``: the process's peak resident memory (issue
34's goal for a 1000-class run: <= 3,000). The last stdout line is the whole result
as JSON.

    python benchmarks/imagenet.py [--device cpu] [--batch 400] [--generations 10]
        [--warmup 5] [--models efficientnet-lite0 torchvision:resnet50@random]
        [--encodings cppn direct] [--full-run-evaluations 0]
    python benchmarks/imagenet.py --from-run runs/imagenet-60min-screen --generations 20
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from evaluator import cpu_model, peak_rss_mb

from evofool.archive.confidence import FOOLED_KEY, classes_fooled
from evofool.evaluation.devices import resolve_device
from evofool.evaluation.scorer import ImageScorer, chunk_size
from evofool.run.config import load_config
from evofool.run.job import EvolutionJob

CONFIGS = Path(__file__).parents[1] / "configs"


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_job(model: str, encoding: str, device: str, batch: int, generations: int,
              warmup: int, run_dir: Path) -> tuple[float, ImageScorer]:
    """Seconds for ``generations`` generations of a resumed job, and its evaluator."""
    config = load_config(CONFIGS / f"imagenet_{encoding}.yaml", [
        f"model={model}", f"algorithm.batch_size={batch}", f"evaluator.device={device}",
        f"generations={warmup}"])
    EvolutionJob.start(config, run_dir, progress=False).run()
    job = EvolutionJob.resume(run_dir, [f"generations={warmup + generations}"], force=True,
                              progress=False)
    synchronise(job.evaluator.scorer.device)
    started = time.perf_counter()
    job.run()
    synchronise(job.evaluator.scorer.device)
    return time.perf_counter() - started, job.evaluator.scorer


def timed_bare_forward(evaluator: ImageScorer, batch: int, generations: int) -> float:
    """The engine's forward alone (after the resize) on ``generations`` batches of images,
    cut into the evaluator's chunks as the job cuts them."""
    classifier = evaluator.classifier
    images = torch.rand(batch, *classifier.input_spec.shape, device=evaluator.device)
    if evaluator.engine == "torch":
        images = images.contiguous(memory_format=torch.channels_last)
    chunks = images.split(chunk_size(evaluator.max_batch, evaluator.defenses.samples))
    forward = classifier.engine or classifier.probabilities_at_model_size
    with torch.inference_mode(), torch.autocast(evaluator.device.type, dtype=torch.bfloat16,
                                                enabled=evaluator.amp):
        forward(chunks[0])
        synchronise(evaluator.device)
        started = time.perf_counter()
        for _ in range(generations):
            for chunk in chunks:
                forward(chunk)
        synchronise(evaluator.device)
    return time.perf_counter() - started


def from_run(run: Path, generations: int, screen: str | None) -> dict:
    """A copy of ``run`` continued ``generations`` generations, screened by ``screen`` (an
    engine name or auto) or not at all, timed whole against the bare exact forward."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / run.name
        shutil.copytree(run, copy, ignore=shutil.ignore_patterns("writer.lock"))
        overrides = [f"evaluator.screen={{engine: {screen}}}" if screen else
                     "evaluator.screen=null", "wall_seconds=null", "evaluations=null",
                     "stop_when_all_at=null"]
        probe = EvolutionJob.resume(copy, [*overrides, "generations=1000000000"], force=True,
                                    progress=False)
        start = probe.algorithm.generation
        probe.recorder.close()
        probe.directory.release()
        job = EvolutionJob.resume(copy, [*overrides, f"generations={start + generations}"],
                                  force=True, progress=False)
        started = time.perf_counter()
        job.run()
        seconds = time.perf_counter() - started
        rows = []
        if (copy / "screen.csv").exists():
            with open(copy / "screen.csv", newline="") as stream:
                rows = [row for row in csv.DictReader(stream) if int(row["generation"]) > start]
        batch = job.config.algorithm.batch_size
    bare = timed_bare_forward(job.evaluator.scorer, batch, generations)
    evaluations_per_s = generations * batch / seconds
    return {"from_generation": start, "generations": generations,
            "screen": job.screen.engine if job.screen else None,
            "exact_engine": job.evaluator.scorer.engine,
            "evaluations_per_s": round(evaluations_per_s, 1),
            "bare_images_per_s": round(generations * batch / bare, 1),
            "speed_vs_fp32_forward": round(evaluations_per_s * bare / (generations * batch), 3),
            "screened_per_generation": [int(row["screened"]) for row in rows],
            "confirmed_per_generation": [int(row["confirmed"]) for row in rows],
            "decision_per_generation": [row.get("decision") for row in rows],
            "expected_cost_per_generation": [row.get("expected_cost") or None for row in rows],
            "cost_ratio": rows[0].get("cost_ratio") if rows else None}


def full_run(device: str, evaluations: int, batch: int) -> dict:
    config = load_config(CONFIGS / "imagenet_cppn.yaml", [
        f"evaluations={evaluations}", "generations=null", f"evaluator.device={device}",
        f"algorithm.batch_size={batch}"])
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        summary = EvolutionJob.start(config, Path(scratch) / "run", progress=False).run()
        wall = time.perf_counter() - started
    confidences = [entry["confidence"] for entry in summary["classes"]]
    return {"evaluations": summary["evaluations"], "generations": summary["generations"],
            "wall_seconds": round(wall, 1),
            "median_best_confidence": summary["median_confidence"],
            "classes_filled": len(confidences),
            FOOLED_KEY: classes_fooled(confidences)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, default=400, help="children per generation")
    parser.add_argument("--generations", type=int, default=10, help="timed generations")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["efficientnet-lite0"])
    parser.add_argument("--encodings", nargs="+", default=["cppn", "direct"])
    parser.add_argument("--full-run-evaluations", type=int, default=0,
                        help="also run the ImageNet CPPN config this long (0: skip)")
    parser.add_argument("--from-run", type=Path, default=None,
                        help="time a copy of this run, with and without the screen")
    parser.add_argument("--screen", default="auto", help="the screen engine for --from-run")
    args = parser.parse_args(argv)
    if args.from_run is not None:
        rows = [from_run(args.from_run, args.generations, screen)
                for screen in (None, args.screen)]
        for row in rows:
            print(json.dumps(row), flush=True)
        result = {"benchmark": "imagenet", "run": str(args.from_run), "cpu": cpu_model(),
                  "threads": torch.get_num_threads(), "rows": rows,
                  "peak_rss_mb": peak_rss_mb()}
        print(json.dumps(result))
        return result
    device = resolve_device(args.device)
    on_gpu = device.type == "cuda"
    result: dict = {"benchmark": "imagenet", "device": str(device),
                    "device_name": torch.cuda.get_device_name(device) if on_gpu else cpu_model(),
                    "threads": torch.get_num_threads(), "batch": args.batch,
                    "generations": args.generations, "warmup": args.warmup, "rows": []}
    for model in args.models:
        for encoding in args.encodings:
            with tempfile.TemporaryDirectory() as scratch:
                job_seconds, evaluator = timed_job(model, encoding, str(device), args.batch,
                                                   args.generations, args.warmup,
                                                   Path(scratch) / "run")
            bare_seconds = timed_bare_forward(evaluator, args.batch, args.generations)
            row = {"model": model, "encoding": encoding, "engine": evaluator.engine,
                   "evaluations_per_s": round(args.generations * args.batch / job_seconds, 1),
                   "bare_images_per_s": round(args.generations * args.batch / bare_seconds, 1),
                   "whole_job_ratio": round(job_seconds / bare_seconds, 3)}
            print(json.dumps(row), flush=True)
            result["rows"].append(row)
    if args.full_run_evaluations:
        result["full_run"] = full_run(str(device), args.full_run_evaluations, args.batch)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
