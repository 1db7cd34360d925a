"""ImageNet-scale throughput: a whole MAP-Elites generation (rendering included) against the
bare forward pass of the same network, at 224, on CPU or CUDA.

For each model and encoding: evaluations/s of N generations of ``batch``
children drawn at 256x256 (resized to 224 by the classifier, as the configs
do), and ``ratio`` = that wall time / the bare network's time on the same
number of 224x224 images at the same batch size, in the same process with the
same autocast (goal on a GPU: ratio <= 1.10). Optionally a full run of the
ImageNet CPPN config for ``--full-run-evaluations`` evaluations: wall time
and median best confidence over the 1000 classes. The last stdout line is
the whole result as JSON.

    python benchmarks/imagenet.py [--device cpu] [--batch 16] [--generations 2]
        [--models efficientnet-lite0 torchvision:resnet50@random] [--encodings cppn direct]
        [--full-run-evaluations 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from evofool.components import build_algorithm, build_classifier, build_encoding
from evofool.config import load_config
from evofool.devices import resolve_device
from evofool.evaluator import BatchedEvaluator
from evofool.job import EvolutionJob

CONFIGS = Path(__file__).parents[1] / "configs"


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_generations(model: str, encoding: str, device: str, batch: int, generations: int,
                      warmup: int) -> tuple[float, BatchedEvaluator]:
    config = load_config(CONFIGS / f"imagenet_{encoding}.yaml", [
        f"model={model}", f"algorithm.batch_size={batch}", f"evaluator.device={device}",
        f"evaluator.max_batch={batch}", "generations=1"])
    classifier = build_classifier(config)
    evaluator = BatchedEvaluator(classifier, device=device, max_batch=batch,
                                 amp=config.evaluator.amp)
    search = build_algorithm(config, build_encoding(config, classifier), evaluator)
    for _ in range(warmup):
        search.step()
    synchronise(evaluator.device)
    started = time.perf_counter()
    for _ in range(generations):
        search.step()
    synchronise(evaluator.device)
    return time.perf_counter() - started, evaluator


def timed_bare_forward(evaluator: BatchedEvaluator, batch: int, generations: int) -> float:
    spec = evaluator.classifier.input_spec
    images = torch.rand(batch, spec.channels, spec.height, spec.width, device=evaluator.device
                        ).contiguous(memory_format=torch.channels_last)
    network = evaluator.classifier.network
    with torch.inference_mode(), torch.autocast(evaluator.device.type, dtype=torch.bfloat16,
                                                enabled=evaluator.amp):
        network(images)
        synchronise(evaluator.device)
        started = time.perf_counter()
        for _ in range(generations):
            network(images)
        synchronise(evaluator.device)
    return time.perf_counter() - started


def full_run(device: str, evaluations: int, batch: int) -> dict:
    config = load_config(CONFIGS / "imagenet_cppn.yaml", [
        f"evaluations={evaluations}", "generations=null", f"evaluator.device={device}",
        f"algorithm.batch_size={batch}", f"evaluator.max_batch={batch}"])
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        summary = EvolutionJob.start(config, Path(scratch) / "run", progress=False).run()
        wall = time.perf_counter() - started
    confidences = [entry["confidence"] for entry in summary["classes"]]
    return {"evaluations": summary["evaluations"], "generations": summary["generations"],
            "wall_seconds": round(wall, 1),
            "median_best_confidence": summary["median_confidence"],
            "classes_filled": len(confidences),
            "classes_at_0.99": sum(value >= 0.99 for value in confidences)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, default=None,
                        help="children per generation (default: 400 on CUDA, 16 on CPU)")
    parser.add_argument("--generations", type=int, default=None,
                        help="timed generations (default: 20 on CUDA, 2 on CPU)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--models", nargs="+",
                        default=["efficientnet-lite0", "torchvision:resnet50@random"])
    parser.add_argument("--encodings", nargs="+", default=["cppn", "direct"])
    parser.add_argument("--full-run-evaluations", type=int, default=0,
                        help="also run the ImageNet CPPN config this long (0: skip)")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    on_gpu = device.type == "cuda"
    batch = args.batch or (400 if on_gpu else 16)
    generations = args.generations or (20 if on_gpu else 2)
    result: dict = {"benchmark": "imagenet", "device": str(device),
                    "device_name": torch.cuda.get_device_name(device) if on_gpu else "cpu",
                    "threads": torch.get_num_threads(), "batch": batch,
                    "generations": generations, "rows": []}
    for model in args.models:
        for encoding in args.encodings:
            run_seconds, evaluator = timed_generations(model, encoding, str(device), batch,
                                                       generations, args.warmup)
            bare_seconds = timed_bare_forward(evaluator, batch, generations)
            row = {"model": model, "encoding": encoding,
                   "evaluations_per_s": round(generations * batch / run_seconds, 1),
                   "bare_images_per_s": round(generations * batch / bare_seconds, 1),
                   "ratio": round(run_seconds / bare_seconds, 3)}
            print(json.dumps(row), flush=True)
            result["rows"].append(row)
    if args.full_run_evaluations:
        result["full_run"] = full_run(str(device), args.full_run_evaluations, batch)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
