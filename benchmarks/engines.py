"""Torch eager against ONNX Runtime on the same inputs, in one process, interleaved repeats.

For each (model, batch): images/s of the classifier's forward after the resize
(normalisation, network, softmax: what an engine runs) in torch eager and in
ONNX Runtime, their ``ratio`` (ONNX Runtime / torch) and the largest
probability difference. Per model, ``best_ratio`` = the engine's best
throughput over torch's best across the batches measured, and what
``evaluator.engine: auto`` chose (goal: never slower than torch). Threads:
torch's setting for both. The last stdout line is the whole result as JSON.

    python benchmarks/engines.py [--repeats 3] [--models mnist-lenet efficientnet-lite0 ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch
from evaluator import cpu_model

from evofool.engines import attach_engine
from evofool.engines.onnx_export import export_onnx
from evofool.engines.onnxruntime_forward import OnnxRuntimeForward
from evofool.models import default_lenet_path, load_classifier
from evofool.training import train_mnist_lenet

BATCHES = {"mnist-lenet": (200, 1024), "efficientnet-lite0": (32, 128),
           "torchvision:resnet50@random": (32,)}


def seconds(work, *args) -> float:
    started = time.perf_counter()
    work(*args)
    return time.perf_counter() - started


def compare(spec: str, batches: tuple[int, ...], repeats: int) -> dict:
    if spec == "mnist-lenet" and not default_lenet_path().exists():
        train_mnist_lenet(default_lenet_path())
    classifier = load_classifier(spec).to(memory_format=torch.channels_last).eval()
    engine = OnnxRuntimeForward(export_onnx(classifier), threads=torch.get_num_threads())
    rows = []
    for batch in batches:
        images = torch.rand(batch, *classifier.input_spec.shape,
                            generator=torch.Generator().manual_seed(batch))
        laid_out = images.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            eager = classifier.probabilities_at_model_size(laid_out)  # also a warm-up
            difference = float((engine(images) - eager).abs().max())
            torch_seconds = onnx_seconds = float("inf")
            for _ in range(repeats):  # interleaved, so load on the machine hits both
                torch_seconds = min(torch_seconds, seconds(
                    classifier.probabilities_at_model_size, laid_out))
                onnx_seconds = min(onnx_seconds, seconds(engine, images))
        rows.append({"model": spec, "batch": batch,
                     "torch_images_per_s": round(batch / torch_seconds, 1),
                     "onnxruntime_images_per_s": round(batch / onnx_seconds, 1),
                     "ratio": round(torch_seconds / onnx_seconds, 3),
                     "max_abs_difference": difference})
        print(json.dumps(rows[-1]), flush=True)
    chosen = attach_engine(classifier, engine="auto", device=torch.device("cpu"),
                           batch=max(batches))
    best_torch = max(row["torch_images_per_s"] for row in rows)
    best_onnx = max(row["onnxruntime_images_per_s"] for row in rows)
    return {"model": spec, "best_ratio": round(best_onnx / best_torch, 3),
            "auto_chose": chosen,
            "auto_slower_than_torch": chosen == "onnxruntime" and best_onnx < best_torch,
            "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(BATCHES))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = [compare(spec, BATCHES.get(spec, (32,)), args.repeats) for spec in args.models]
    for result in results:
        print(json.dumps({key: value for key, value in result.items() if key != "rows"}),
              file=sys.stderr)
    print(json.dumps({"benchmark": "engines", "cpu": cpu_model(),
                      "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "models": results}))


if __name__ == "__main__":
    main()
