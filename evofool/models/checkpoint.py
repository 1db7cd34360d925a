"""evofool's own classifier checkpoints: weights with the metadata that makes them a model.

A checkpoint names its architecture (one of ``ARCHITECTURES``), and the
architecture is rebuilt from the class count and input spec it stores, so a
file needs no side files and no code beside it (it loads with
``weights_only``: nothing in it runs).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from evofool.errors import ModelLoadError, first_line
from evofool.models.classifier import Classifier
from evofool.models.input_spec import InputSpec
from evofool.models.lenet import LeNet
from evofool.models.small_cnn import SmallCnn

CHECKPOINT_FORMAT = "evofool-classifier"
CHECKPOINT_VERSION = 1
# architecture name -> (network class, how to build one for K classes and an input spec)
ARCHITECTURES: dict[str, tuple[type[nn.Module], Callable[[int, InputSpec], nn.Module]]] = {
    "lenet-caffe": (LeNet, lambda classes, spec: LeNet(num_classes=classes)),
    "small-cnn": (SmallCnn, lambda classes, spec: SmallCnn(spec.channels, classes)),
}


@dataclass(frozen=True)
class CheckpointInfo:
    """Metadata that travels with the weights, so a checkpoint needs no side files."""

    class_names: tuple[str, ...]
    input_spec: InputSpec
    test_accuracy: float | None
    seed: int | None
    epochs: int | None


def architecture_of(network: nn.Module) -> str | None:
    """The checkpoint architecture ``network`` is an instance of, or None (not evofool's)."""
    return next((name for name, (kind, _) in ARCHITECTURES.items()
                 if type(network) is kind), None)


def fresh_network(architecture: str, classes: int, input_spec: InputSpec) -> nn.Module:
    """A newly initialised network of ``architecture`` (torch's generator draws it)."""
    return ARCHITECTURES[architecture][1](classes, input_spec)


def save_checkpoint(network: nn.Module, info: CheckpointInfo, path: Path) -> None:
    """Write weights and metadata atomically: a crash never leaves half a checkpoint."""
    architecture = architecture_of(network)
    if architecture is None:
        raise ValueError(f"{type(network).__name__} is no evofool checkpoint architecture "
                         f"({', '.join(ARCHITECTURES)})")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "architecture": architecture,
        "state_dict": network.state_dict(),
        "class_names": list(info.class_names),
        "input_spec": info.input_spec.to_dict(),
        "test_accuracy": info.test_accuracy,
        "seed": info.seed,
        "epochs": info.epochs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    os.replace(partial, path)


def load_checkpoint(path: Path, name: str) -> Classifier:
    """Load a checkpoint written by :func:`save_checkpoint` as a Classifier.

    Raises:
        ModelLoadError: the file is unreadable, not an evofool checkpoint, or
            its weights do not fit the architecture it names.
    """
    try:
        payload: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a corrupt file
        raise ModelLoadError(
            f"cannot read model file {path}: corrupt, truncated, or not a PyTorch checkpoint "
            f"({type(error).__name__})") from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ModelLoadError(f"{path} is not an evofool classifier checkpoint")
    architecture = payload.get("architecture")
    if payload.get("version") != CHECKPOINT_VERSION or architecture not in ARCHITECTURES:
        raise ModelLoadError(
            f"{path} is checkpoint version {payload.get('version')} of {architecture!r}; "
            f"this evofool reads version {CHECKPOINT_VERSION} of "
            f"{', '.join(map(repr, ARCHITECTURES))}")
    try:
        class_names = tuple(payload["class_names"])
        spec = InputSpec.from_dict(payload["input_spec"])
        network = fresh_network(architecture, len(class_names), spec)
        network.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError, ValueError, TypeError) as error:
        raise ModelLoadError(f"{path} is damaged: {first_line(error)}") from error
    return Classifier(network, input_spec=spec, class_names=class_names, name=name)
