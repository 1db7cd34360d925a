"""One round's retraining in the n+1 experiment (section 3.3): the natural training images
plus every garbage image so far, the garbage ones labelled as class n+1.

A fresh network of the round-0 model's architecture is trained from scratch
(``training.mode: scratch``, the paper), or the previous round's network goes on
with its last linear layer widened by the garbage output (``finetune``; with
``training.layers: head`` only that layer learns). Each round's model is an
evofool checkpoint (evofool.models.checkpoint), so every architecture there
(LeNet, the small CNN of ``evofool train small-cnn``) serves, at any channel
count and resolution.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from evofool.data import LabelledImages
from evofool.errors import ConfigError
from evofool.models import Classifier, load_classifier
from evofool.models.checkpoint import (
    ARCHITECTURES,
    CheckpointInfo,
    architecture_of,
    fresh_network,
    save_checkpoint,
)
from evofool.retrain.config import RetrainConfig
from evofool.retrain.garbage import balanced_epoch
from evofool.retrain.store import RetrainStore
from evofool.store.retrain_layout import round_model_path
from evofool.training.fitting import as_unit_floats, fit, test_accuracy

GARBAGE_NAME = "garbage"


def train_round(config: RetrainConfig, directory: Path, store: RetrainStore, round_index: int,
                *, natural: LabelledImages, natural_names: tuple[str, ...],
                previous_model: str, progress: bool) -> None:
    """Train model ``round_index`` on the natural images plus the garbage of every earlier
    round, save it in ``directory`` and record the training in ``store``."""
    settings = config.training
    classes = len(natural_names)
    started = time.perf_counter()
    natural_images = natural.train_images[:settings.natural_images]
    natural_labels = natural.train_labels[:settings.natural_images]
    garbage = store.garbage_pixels(round_index, natural_images.shape[1:])
    images = as_unit_floats(np.concatenate([natural_images, garbage]))
    labels = torch.cat([torch.from_numpy(natural_labels).long(),
                        torch.full((len(garbage),), classes, dtype=torch.long)])
    previous = load_classifier(previous_model)
    torch.manual_seed(config.seed + round_index)  # a fresh network's or new output's weights
    if settings.mode == "finetune":
        network = with_garbage_output(previous.network, classes + 1)
    else:
        network = fresh_network(architecture_of(previous.network), classes + 1,
                                previous.input_spec)
    what = f"{classes + 1}-class {type(network).__name__}"
    print(f"evofool: round {round_index}/{config.rounds}: training the {what} "
          f"({settings.mode}, {settings.layers} layers, {settings.epochs} epochs) on "
          f"{len(natural_images)} natural + {len(garbage)} garbage images", file=sys.stderr)
    fit(network, images, labels, epochs=settings.epochs, seed=config.seed + round_index,
        what=what, learning_rate=settings.learning_rate,
        epoch_indices=balanced_epoch(len(natural_images), len(garbage), classes),
        parameters=last_linear(network).parameters() if settings.layers == "head" else None,
        progress=progress)
    path = round_model_path(directory, round_index)
    info = CheckpointInfo(class_names=(*natural_names, GARBAGE_NAME),
                          input_spec=previous.input_spec,
                          test_accuracy=test_accuracy(network, natural.test_images,
                                                      natural.test_labels),
                          seed=config.seed + round_index, epochs=settings.epochs)
    save_checkpoint(network, info, path)
    store.record_training(round_index, path, mode=settings.mode, epochs=settings.epochs,
                          garbage_images=len(garbage),
                          seconds=round(time.perf_counter() - started, 3))


def check_retrainable(classifier: Classifier, config: RetrainConfig) -> None:
    """Refuse a round-0 model the experiment cannot retrain or draw garbage for.

    Raises:
        ConfigError: naming what does not fit.
    """
    if architecture_of(classifier.network) is None:
        raise ConfigError(
            f"model {config.model}: each round's model is saved as an evofool checkpoint, so "
            f"round 0 must be one ({', '.join(ARCHITECTURES)}: mnist-lenet, or a file from "
            "`evofool train`); torchvision, timm and TorchScript models are not retrained yet")
    spec, encoding = classifier.input_spec, config.evolution.encoding
    if (encoding.height or spec.height, encoding.width or spec.width) != (spec.height,
                                                                         spec.width):
        raise ConfigError(f"evolution.encoding draws {encoding.height}x{encoding.width} images; "
                          f"the garbage class is trained at the model's {spec.height}x"
                          f"{spec.width}: leave encoding.height and width unset")
    try:
        config.evolution.algorithm.among_classes(list(range(classifier.num_classes)))
    except ConfigError as error:
        raise ConfigError(f"evolution.{error}") from error


def last_linear(network: nn.Module) -> nn.Linear:
    """The network's output layer: its last ``nn.Linear`` in module order."""
    linears = [module for module in network.modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(network).__name__} has no linear output layer")
    return linears[-1]


def with_garbage_output(network: nn.Module, classes: int) -> nn.Module:
    """``network`` with its last linear layer widened to ``classes`` outputs (the new rows
    fresh, the others kept)."""
    last = last_linear(network)
    if last.out_features == classes:
        return network
    wider = nn.Linear(last.in_features, classes)
    with torch.no_grad():
        wider.weight[:last.out_features] = last.weight
        wider.bias[:last.out_features] = last.bias
    parent_name, _, attribute = next(name for name, module in network.named_modules()
                                     if module is last).rpartition(".")
    setattr(network.get_submodule(parent_name), attribute, wider)
    return network
