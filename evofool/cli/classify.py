"""``evofool classify MODEL IMAGE...``: top-K classes per image, as JSON lines."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evofool.errors import EvofoolError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "classify", help="print each image's top-K classes as JSON lines",
        description="Classify image files. Model specs: mnist-lenet, efficientnet-lite0, "
                    "torchvision:NAME[@random], timm:NAME[@random], or a model file.")
    parser.add_argument("model", help="model spec")
    parser.add_argument("images", nargs="+", type=Path, help="image files")
    parser.add_argument("--top", type=int, default=5, help="classes per image (default 5)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import torch  # here, not at the top: `evofool --help` should not wait for torch

    from evofool.evaluation.scorer import ImageScorer
    from evofool.files.images import read_image
    from evofool.models.loading import load_classifier

    if args.top < 1:
        raise EvofoolError(f"--top must be at least 1, not {args.top}")
    scorer = ImageScorer(load_classifier(args.model), device=args.device)
    channels = scorer.classifier.input_spec.channels
    top = min(args.top, len(scorer.class_names))
    for path in args.images:
        image = read_image(path, channels=channels)
        probabilities = scorer.score(image.unsqueeze(0))[0].cpu()
        values, indices = torch.topk(probabilities, top)
        print(json.dumps({"image": str(path), "top": [
            {"class": int(index), "name": scorer.class_names[index],
             "probability": float(value)}
            for value, index in zip(values, indices, strict=True)]}), flush=True)
    return 0
