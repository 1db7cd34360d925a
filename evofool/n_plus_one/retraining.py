"""One round's retraining in the n+1 experiment (section 3.3): the natural training images
plus every garbage image so far, the garbage ones labelled as class n+1.

A fresh network of the round-0 model's architecture is trained from scratch
(``training.mode: scratch``, the paper; for evofool's own architectures), or the
previous round's network goes on with its output layer widened by the garbage
output (``finetune``, for any model with a linear output layer: torchvision, timm,
TorchScript, EfficientNet-Lite0; with ``training.layers: head`` only that layer
learns). Training sees the images as scoring does, through the model's own
normalisation. Each round's model is an evofool checkpoint
(evofool.models.checkpoint): a network evofool cannot build is saved as round
0's model widened, at any channel count and resolution.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

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
from evofool.models.classifier import Logits
from evofool.models.output_layer import output_layer, output_width, widen_output
from evofool.n_plus_one.config import RetrainConfig
from evofool.n_plus_one.garbage import balanced_epoch
from evofool.n_plus_one.store import RetrainStore
from evofool.ood.detectors import FEATURE_DETECTORS, LOGIT_DETECTORS
from evofool.ood.representations import network_head
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
        network = widen_output(previous.network, classes + 1)
    else:
        network = fresh_network(architecture_of(previous.network), classes + 1,
                                previous.input_spec)
    model = Classifier(network, input_spec=previous.input_spec,
                       class_names=(*natural_names, GARBAGE_NAME), name=previous.name)
    what = f"{classes + 1}-class {type(network).__name__}"
    print(f"evofool: round {round_index}/{config.rounds}: training the {what} "
          f"({settings.mode}, {settings.layers} layers, {settings.epochs} epochs) on "
          f"{len(natural_images)} natural + {len(garbage)} garbage images", file=sys.stderr)
    fit(Logits(model), images, labels, epochs=settings.epochs,
        seed=config.seed + round_index, what=what, learning_rate=settings.learning_rate,
        epoch_indices=balanced_epoch(len(natural_images), len(garbage),
                                     len(np.unique(natural_labels))),
        parameters=output_layer(network).parameters() if settings.layers == "head" else None,
        progress=progress)
    path = round_model_path(directory, round_index)
    info = CheckpointInfo(class_names=model.class_names, input_spec=previous.input_spec,
                          test_accuracy=test_accuracy(model, natural.test_images,
                                                      natural.test_labels),
                          seed=config.seed + round_index, epochs=settings.epochs)
    save_checkpoint(network, info, path, base=base_model(config.model))
    store.record_training(round_index, path, mode=settings.mode, epochs=settings.epochs,
                          garbage_images=len(garbage),
                          seconds=round(time.perf_counter() - started, 3))


def base_model(spec: str) -> str:
    """Round 0's model spec as a widened round model names it: a file by its absolute path,
    so the experiment resumes from any directory."""
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.is_file() else spec


def check_retrainable(classifier: Classifier, config: RetrainConfig) -> None:
    """Refuse a round-0 model the experiment cannot retrain or draw garbage for.

    Raises:
        ConfigError: naming what does not fit.
    """
    width = output_width(classifier.network)
    if width != classifier.num_classes:
        found = "it has none" if width is None else f"that has {width} outputs"
        raise ConfigError(f"model {config.model}: the garbage class widens the network's "
                          f"output layer, its last linear layer, and {found} for "
                          f"{classifier.num_classes} classes")
    if config.training.mode == "scratch" and architecture_of(classifier.network) is None:
        raise ConfigError(
            f"model {config.model}: training.mode scratch builds a new network of round 0's "
            f"architecture, which evofool can for its own ({', '.join(ARCHITECTURES)}); "
            "fine-tune this one: --set training.mode=finetune")
    held_out = config.held_out
    reading_features = [name for name in held_out.detectors if name in FEATURE_DETECTORS]
    if held_out.enabled and reading_features and network_head(classifier) is None:
        raise ConfigError(f"held_out.detectors: {reading_features[0]} reads the features "
                          f"before the output layer, which evofool cannot reach in "
                          f"{config.model}; name logit detectors only "
                          f"({', '.join(LOGIT_DETECTORS)})")
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
