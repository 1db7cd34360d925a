"""``evofool train mnist-lenet``: train the classifier the MNIST experiments fool."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a classifier (mnist-lenet: Caffe's LeNet on MNIST)",
        description="Train a classifier. The last stdout line is JSON: "
                    '{"test_accuracy": ..., "path": ...}.')
    parser.add_argument("recipe", choices=["mnist-lenet"], help="what to train")
    parser.add_argument("--out", type=Path, default=None,
                        help="checkpoint path (default: $EVOFOOL_CACHE/models/mnist-lenet.pt, "
                             "which the model spec 'mnist-lenet' reads)")
    parser.add_argument("--epochs", type=_positive_int, default=None,
                        help="training epochs (default: the recipe's, enough for >= 99%%)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="directory with the raw MNIST files (else download or offline copy)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evofool.models.lenet import default_lenet_path  # torch: only when training
    from evofool.training.lenet_training import DEFAULT_EPOCHS, train_mnist_lenet

    out = args.out or default_lenet_path()
    result = train_mnist_lenet(out, epochs=args.epochs or DEFAULT_EPOCHS, seed=args.seed,
                               data_dir=args.data_dir)
    print(json.dumps({"test_accuracy": result.test_accuracy, "path": str(result.path)}))
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
