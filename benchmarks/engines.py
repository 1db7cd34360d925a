"""Every registered engine against torch eager on the same CPPN images, in one process.

For each model and each engine available here (evofool.engines.registry): images/s
of the classifier's forward after the resize (normalisation, network, softmax:
what an engine runs), interleaved best of ``--repeats``, and how the engine's
probabilities agree with the exact float32 reference (ONNX Runtime where it is
installed, else torch): max |dp|, Spearman's rank correlation of log p over all
(image, class) pairs, the share of classes whose best image is the same, and the
share of the reference's top 1 % (image, class) pairs found in the engine's top
2 % (what a screen needs: the children that may beat a champion), and the margin
in log-odds a screen on it needs (``margin_needed``, evofool.engines.engine's
``screen_margin``). Images: random
CPPN genomes after 30 rounds of mutation, drawn at the model's size, as a run
scores them. Also what ``evaluator.engine: auto`` chose (goal: never slower than
torch). With ``--resolutions``, every engine also scores the images resized to each
of those sizes (a network that takes other sizes, as ImageNet ones do), against the
same full-size reference: what a reduced-resolution screen, or a cascade of one with
a cheaper precision, would cost and agree (``resize_seconds``: the antialiased resize
of the batch, which such a screen adds unless it renders at the smaller size). The last
stdout line is the whole result as JSON.

    python benchmarks/engines.py [--repeats 4] [--images 100]
                                 [--models mnist-lenet efficientnet-lite0 ...]
                                 [--resolutions 160 192]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import torch
from evaluator import cpu_model
from scipy.stats import spearmanr

from evofool.engines import attach_engine, engines
from evofool.engines.engine import cpu_flags
from evofool.engines.onnxruntime_int8 import typical_cppn_images
from evofool.evaluation.screen import log_odds
from evofool.models import Classifier, default_lenet_path, load_classifier
from evofool.training import train_mnist_lenet

BATCHES = {"mnist-lenet": 1024, "efficientnet-lite0": 100, "torchvision:resnet50@random": 32}
FLAGS = ("avx512_bf16", "amx_bf16", "amx_int8", "avx512_vnni", "avx_vnni", "avx512f")


def best_seconds(work, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def agreement(probabilities: torch.Tensor, reference: torch.Tensor) -> dict:
    """How an engine's (N, K) probabilities rank (image, class) pairs as the reference's do."""
    logs = [values.clamp_min(1e-30).log().flatten().double().numpy()
            for values in (probabilities, reference)]
    pairs = reference.numel()
    top = set(reference.flatten().topk(max(1, pairs // 100)).indices.tolist())
    found = set(probabilities.flatten().topk(max(1, pairs // 50)).indices.tolist())
    return {"max_abs_difference": float((probabilities - reference).abs().max()),
            "spearman_log_p": round(float(spearmanr(*logs).statistic), 4),
            "same_best_image_per_class": round(float(
                (probabilities.argmax(0) == reference.argmax(0)).float().mean()), 4),
            "top1_in_top2_percent": round(len(top & found) / len(top), 4),
            "margin_needed": margin_needed(probabilities, reference)}


def margin_needed(probabilities: torch.Tensor, reference: torch.Tensor) -> float | None:
    """The 98th percentile of how far the engine's log-odds fall below the reference's, over
    the (image, class) pairs the reference gives p > 0.01: about the ``screen_margin`` a
    screen on this engine needs to miss no more than ~2 % of true improvements."""
    plausible = reference > 0.01
    if not bool(plausible.any()):
        return None
    shortfall = (log_odds(reference) - log_odds(probabilities))[plausible]
    return round(float(shortfall.quantile(0.98)), 3)


def engine_calls(classifier: Classifier, images: torch.Tensor, suffix: str = "") -> dict:
    """Engine name (+ ``suffix``) -> a call scoring ``images`` (at the classifier's size)."""
    laid_out = images.contiguous(memory_format=torch.channels_last)
    calls = {f"torch{suffix}": lambda: classifier.probabilities_at_model_size(laid_out)}
    for engine in engines():
        if engine.build is not None and engine.available() and "cpu" in engine.devices:
            forward = engine.build(classifier)
            calls[engine.name + suffix] = lambda forward=forward: forward(images)
    return calls


def at_resolution(classifier: Classifier, size: int) -> Classifier:
    """The same network taking ``size`` x ``size`` images."""
    spec = dataclasses.replace(classifier.input_spec, height=size, width=size)
    return Classifier(classifier.network, input_spec=spec, class_names=classifier.class_names,
                      name=f"{classifier.name}@{size}")


def compare(spec: str, count: int, repeats: int, resolutions: list[int]) -> dict:
    if spec == "mnist-lenet" and not default_lenet_path().exists():
        train_mnist_lenet(default_lenet_path())
    classifier = load_classifier(spec).eval()
    if resolutions and not classifier.input_spec.resize:
        raise SystemExit(f"{spec} takes only {classifier.input_spec.height} px images; "
                         "--resolutions needs a network that resizes (an ImageNet one)")
    images = typical_cppn_images(classifier.input_spec.shape, count)
    calls = engine_calls(classifier, images)
    resize_seconds = {}
    for size in resolutions:
        smaller = at_resolution(classifier, size)
        resize_seconds[size] = round(best_seconds(lambda smaller=smaller: smaller.resize(images),
                                                  repeats), 4)
        calls |= engine_calls(smaller, smaller.resize(images), f"@{size}")
    with torch.inference_mode():
        outputs = {name: call() for name, call in calls.items()}  # also a warm-up
        seconds = dict.fromkeys(calls, float("inf"))
        for _ in range(repeats):  # interleaved, so load on the machine hits every engine
            for name, call in calls.items():
                seconds[name] = min(seconds[name], best_seconds(call, 1))
    reference_name = "onnxruntime" if "onnxruntime" in outputs else "torch"
    reference = outputs[reference_name]
    rows = [{"engine": name, "images_per_s": round(count / seconds[name], 1),
             f"vs_{reference_name}": round(seconds[reference_name] / seconds[name], 3),
             **({} if name == reference_name else agreement(outputs[name], reference))}
            for name in calls]
    for row in rows:
        print(json.dumps({"model": spec, **row}), flush=True)
    chosen = attach_engine(classifier, engine="auto", device=torch.device("cpu"), batch=count)
    exact = [row for row in rows if row["engine"] in ("torch", "onnxruntime", "openvino")]
    fastest_exact = max(exact, key=lambda row: row["images_per_s"])
    return {"model": spec, "images": count, "reference": reference_name, "auto_chose": chosen,
            "resize_seconds": resize_seconds,
            "best_ratio": round(fastest_exact["images_per_s"]
                                / next(r for r in rows if r["engine"] == "torch")["images_per_s"],
                                3),
            "auto_slower_than_torch": seconds.get(chosen, 0) > seconds["torch"],
            "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(BATCHES))
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--images", type=int, default=None,
                        help="images per timed call (default: per model)")
    parser.add_argument("--resolutions", type=int, nargs="*", default=[],
                        help="also score at these sizes (networks that resize only)")
    args = parser.parse_args()
    results = [compare(spec, args.images or BATCHES.get(spec, 32), args.repeats,
                       args.resolutions) for spec in args.models]
    for result in results:
        print(json.dumps({key: value for key, value in result.items() if key != "rows"}),
              file=sys.stderr)
    print(json.dumps({"benchmark": "engines", "cpu": cpu_model(),
                      "cpu_flags": [flag for flag in FLAGS if flag in cpu_flags()],
                      "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "models": results}))


if __name__ == "__main__":
    main()
