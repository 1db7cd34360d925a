"""One round's retraining in the n+1 experiment (section 3.3): the natural training images
plus every garbage image so far, the garbage ones labelled as class n+1.

A fresh network is trained from scratch (``training.mode: scratch``), or the previous
round's network goes on with its last layer widened by the garbage output (``finetune``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from evofool.data import load_mnist
from evofool.models import LeNet, load_classifier
from evofool.models.lenet import MNIST_INPUT_SPEC, CheckpointInfo, save_lenet
from evofool.retrain.config import RetrainConfig
from evofool.retrain.garbage import as_training_images, balanced_epoch
from evofool.retrain.store import RetrainStore
from evofool.store.retrain_layout import round_model_path
from evofool.training.lenet_training import images_to_tensor, test_accuracy, train_lenet

GARBAGE_NAME = "garbage"


def train_round(config: RetrainConfig, directory: Path, store: RetrainStore, round_index: int,
                *, natural_names: tuple[str, ...], previous_model: str, progress: bool) -> None:
    """Train model ``round_index`` on MNIST plus the garbage of every earlier round, save it
    in ``directory`` and record the training in ``store``."""
    settings = config.training
    natural = len(natural_names)
    started = time.perf_counter()
    mnist = load_mnist()
    digits = mnist.train_images[:settings.natural_images]
    digit_labels = mnist.train_labels[:settings.natural_images]
    garbage = store.garbage_pixels(round_index, MNIST_INPUT_SPEC.shape)
    images = torch.cat([images_to_tensor(digits), as_training_images(garbage)])
    labels = torch.cat([torch.from_numpy(digit_labels).long(),
                        torch.full((len(garbage),), natural, dtype=torch.long)])
    initial = None
    if settings.mode == "finetune":
        initial = with_garbage_output(load_classifier(previous_model).network, natural + 1)
    print(f"evofool: round {round_index}/{config.rounds}: training an "
          f"{natural + 1}-class LeNet ({settings.mode}, {settings.epochs} epochs) on "
          f"{len(digits)} digits + {len(garbage)} garbage images", file=sys.stderr)
    network = train_lenet(
        images, labels, num_classes=natural + 1, epochs=settings.epochs,
        seed=config.seed + round_index, learning_rate=settings.learning_rate, initial=initial,
        epoch_indices=balanced_epoch(len(digits), len(garbage), natural), progress=progress)
    path = round_model_path(directory, round_index)
    info = CheckpointInfo(class_names=(*natural_names, GARBAGE_NAME), input_spec=MNIST_INPUT_SPEC,
                          test_accuracy=test_accuracy(network, mnist.test_images,
                                                      mnist.test_labels),
                          seed=config.seed + round_index, epochs=settings.epochs)
    save_lenet(network, info, path)
    store.record_training(round_index, path, mode=settings.mode, epochs=settings.epochs,
                          garbage_images=len(garbage),
                          seconds=round(time.perf_counter() - started, 3))


def with_garbage_output(network: LeNet, classes: int) -> LeNet:
    """``network`` with its last layer widened to ``classes`` outputs (new rows fresh)."""
    last = network.classifier[-1]
    if last.out_features == classes:
        return network
    wider = torch.nn.Linear(last.in_features, classes)
    with torch.no_grad():
        wider.weight[:last.out_features] = last.weight
        wider.bias[:last.out_features] = last.bias
    network.classifier[-1] = wider
    return network
