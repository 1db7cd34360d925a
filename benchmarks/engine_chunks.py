"""Images/s and resident memory of each engine by chunk size: what ``evaluator.max_batch`` costs.

A run hands the network its children in chunks of ``evaluator.max_batch``.
For an ImageNet network a large chunk costs memory more than time: the
activations of 400 images at 224 x 224 take gigabytes. For each engine
available here (evofool.engines.registry) and each ``--chunks`` size: images/s
over ``--images`` CPPN images (as a run scores them), best of ``--repeats``,
and the process's resident memory after it (``rss_mb``; it grows with the
largest chunk an engine has seen, so sizes run from small to large). Each
engine runs in a fresh process, so one engine's buffers do not count for the
next. The last stdout line is the whole result as JSON.

    python benchmarks/engine_chunks.py [--model efficientnet-lite0] [--images 400]
        [--chunks 8 16 32 64 400] [--engines onnxruntime openvino ...] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import torch
from engines import FLAGS
from evaluator import cpu_model
from memory import rss_mib

from evofool.engines.engine import cpu_flags
from evofool.engines.onnxruntime_int8 import typical_cppn_images
from evofool.engines.registry import engine_named, engines
from evofool.models import load_classifier


def one_engine(args: argparse.Namespace) -> list[dict]:
    """The rows of ``args.engine`` (run in its own process)."""
    classifier = load_classifier(args.model).eval()
    images = typical_cppn_images(classifier.input_spec.shape, args.images)
    forward = engine_named(args.engine).build(classifier) if args.engine != "torch" else None
    if forward is None:
        images = images.contiguous(memory_format=torch.channels_last)
        forward = classifier.probabilities_at_model_size
    rows = []
    with torch.inference_mode():
        for chunk in sorted(args.chunks):
            pieces = images.split(chunk)
            best = float("inf")
            for _ in range(args.repeats):
                started = time.perf_counter()
                for piece in pieces:
                    forward(piece)
                best = min(best, time.perf_counter() - started)
            rows.append({"engine": args.engine, "chunk": chunk,
                         "images_per_s": round(args.images / best, 1),
                         "rss_mb": round(rss_mib(os.getpid()) or 0)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet-lite0")
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--chunks", type=int, nargs="+", default=[8, 16, 32, 64, 400])
    parser.add_argument("--engines", nargs="+", default=None,
                        help="default: torch and every engine available on the CPU here")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", help=argparse.SUPPRESS)  # one engine, in a child process
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(one_engine(args)))
        return
    names = args.engines or ["torch", *(engine.name for engine in engines()
                                        if engine.build is not None and engine.available()
                                        and "cpu" in engine.devices)]
    rows = []
    for name in names:
        child = subprocess.run(
            [sys.executable, __file__, "--engine", name, "--model", args.model,
             "--images", str(args.images), "--repeats", str(args.repeats),
             "--chunks", *map(str, args.chunks)], capture_output=True, text=True)
        if child.returncode != 0:
            sys.exit(f"engine_chunks: {name} failed: {child.stderr.strip().splitlines()[-1:]}")
        for row in json.loads(child.stdout.strip().splitlines()[-1]):
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(json.dumps({"benchmark": "engine_chunks", "cpu": cpu_model(),
                      "cpu_flags": [flag for flag in FLAGS if flag in cpu_flags()],
                      "threads": torch.get_num_threads(), "model": args.model,
                      "images": args.images, "rows": rows}))


if __name__ == "__main__":
    main()
