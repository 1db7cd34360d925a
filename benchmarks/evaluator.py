"""Evaluator throughput against a bare ``model(x)`` on the same tensors.

Prints one JSON object as its last line: per batch size, images/s through
``ImageScorer.score`` (chunking, shape checks, preprocessing, softmax,
finite check) and through the bare network on the same pre-chunked
channels-last tensors, and ``ratio`` = evaluator / bare (goal >= 0.95).
Both are timed interleaved, best of several repeats, in one process.

    python benchmarks/evaluator.py [--device auto] [--images 16384] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import torch

from evofool.evaluation.scorer import ImageScorer
from evofool.models import Classifier, InputSpec, LeNet

BATCH_SIZES = (64, 256, 1024)


def images_per_second(run, count: int, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return count / (time.perf_counter() - start)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> int:
    """The peak resident memory of this process (RUSAGE_CHILDREN: of its largest finished
    child), in MiB (Linux counts ru_maxrss in KiB)."""
    return resource.getrusage(who).ru_maxrss // 1024


def compare_at_batch(evaluator: ImageScorer, count: int, repeats: int) -> dict:
    """Best-of-``repeats`` images/s of the evaluator and of the bare network, interleaved."""
    device, batch = evaluator.device, evaluator.max_batch
    images = torch.rand(count, 1, 28, 28, device=device)
    chunks = [chunk.contiguous(memory_format=torch.channels_last) for chunk in images.split(batch)]
    network = evaluator.classifier.network

    def bare():
        with torch.inference_mode():
            for chunk in chunks:
                network(chunk)

    def scored():
        evaluator.score(images)

    bare(), scored()  # warm-up
    bare_rates, evaluator_rates = [], []
    for _ in range(repeats):
        bare_rates.append(images_per_second(bare, count, device))
        evaluator_rates.append(images_per_second(scored, count, device))
    return {"batch": batch, "bare_images_per_s": round(max(bare_rates)),
            "evaluator_images_per_s": round(max(evaluator_rates)),
            "ratio": round(max(evaluator_rates) / max(bare_rates), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--images", type=int, default=16384)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    torch.manual_seed(0)
    classifier = Classifier(LeNet(), input_spec=InputSpec(channels=1, height=28, width=28),
                            class_names=[str(i) for i in range(10)], name="lenet")
    results = []
    for batch in BATCH_SIZES:
        evaluator = ImageScorer(classifier, device=args.device, max_batch=batch)
        results.append(compare_at_batch(evaluator, args.images, args.repeats))
        print(json.dumps(results[-1]))
    print(json.dumps({
        "benchmark": "evaluator", "model": "LeNet (Caffe shape)",
        "device": str(evaluator.device),
        "machine": f"{cpu_model()}, {torch.get_num_threads()} torch threads",
        "torch": torch.__version__, "images": args.images, "results": results,
        "ratio": min(result["ratio"] for result in results),
    }))


if __name__ == "__main__":
    main()
