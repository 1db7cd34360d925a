"""``evofool train RECIPE``: train a classifier to fool (mnist-lenet: the MNIST experiments';
small-cnn: any labelled image folder's, for the n+1 experiment on other data)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a classifier (mnist-lenet: Caffe's LeNet on MNIST; small-cnn: "
                      "a small CNN on an image folder)",
        description="Train a classifier. The last stdout line is JSON: "
                    '{"test_accuracy": ..., "path": ...}.')
    parser.add_argument("recipe", choices=["mnist-lenet", "small-cnn"], help="what to train")
    parser.add_argument("--out", type=Path, default=None,
                        help="checkpoint path (mnist-lenet's default: "
                             "$EVOFOOL_CACHE/models/mnist-lenet.pt, which the model spec "
                             "'mnist-lenet' reads; small-cnn needs one)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the evofool model file at --out (never another file, "
                             "a directory, a device, or a file inside a run or experiment)")
    parser.add_argument("--epochs", type=_positive_int, default=None,
                        help="training epochs (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="mnist-lenet: directory with the raw MNIST files (else download "
                             "or offline copy)")
    parser.add_argument("--data", default=None,
                        help="small-cnn: 'mnist' or an image folder (one sub-directory per "
                             "class; train/ and test/ splits, or every 5th image held out)")
    parser.add_argument("--size", type=_positive_int, default=32,
                        help="small-cnn: the square image size it is trained at (32)")
    parser.add_argument("--channels", type=int, choices=(1, 3), default=3,
                        help="small-cnn: 1 (grayscale) or 3 (RGB, the default)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evofool.errors import ConfigError  # torch: only when training

    if args.recipe == "small-cnn":
        from evofool.training.small_cnn_training import DEFAULT_EPOCHS, train_small_cnn

        if args.data is None or args.out is None:
            raise ConfigError("evofool train small-cnn needs --data (mnist or an image "
                              "folder) and --out (the checkpoint to write)")
        result = train_small_cnn(args.data, args.out, channels=args.channels, size=args.size,
                                 epochs=args.epochs or DEFAULT_EPOCHS, seed=args.seed,
                                 overwrite=args.overwrite)
    else:
        from evofool.models.lenet import default_lenet_path
        from evofool.training.lenet_training import DEFAULT_EPOCHS, train_mnist_lenet

        # the default path is the cache's own model, which a new one replaces
        result = train_mnist_lenet(args.out or default_lenet_path(),
                                   epochs=args.epochs or DEFAULT_EPOCHS, seed=args.seed,
                                   data_dir=args.data_dir,
                                   overwrite=args.overwrite or args.out is None)
    print(json.dumps({"test_accuracy": result.test_accuracy, "path": str(result.path)}))
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
