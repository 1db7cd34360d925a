"""LeNet in the shape of Caffe's MNIST example, and its self-describing checkpoint.

The paper's MNIST victim is Caffe's ``lenet_train_test.prototxt``:
conv 20@5x5 -> max-pool 2 -> conv 50@5x5 -> max-pool 2 -> fc 500 -> ReLU -> fc 10,
on pixels scaled to [0, 1] (Caffe's ``scale: 0.00390625``) with no mean subtracted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from evofool.errors import ModelLoadError, first_line
from evofool.files.cache import cache_dir
from evofool.models.classifier import Classifier
from evofool.models.input_spec import InputSpec

ARCHITECTURE = "lenet-caffe"
CHECKPOINT_FORMAT = "evofool-classifier"
CHECKPOINT_VERSION = 1
MNIST_INPUT_SPEC = InputSpec(channels=1, height=28, width=28)


def default_lenet_path() -> Path:
    """Where ``evofool train mnist-lenet`` writes, and the ``mnist-lenet`` spec reads."""
    return cache_dir() / "models" / "mnist-lenet.pt"


class LeNet(nn.Module):
    """Caffe's LeNet: 28x28 -> 20@24x24 -> 20@12x12 -> 50@8x8 -> 50@4x4 -> 500 -> K."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 20, kernel_size=5), nn.MaxPool2d(2),
            nn.Conv2d(20, 50, kernel_size=5), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(50 * 4 * 4, 500), nn.ReLU(inplace=True),
            nn.Linear(500, num_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))


@dataclass(frozen=True)
class CheckpointInfo:
    """Metadata that travels with the weights, so a checkpoint needs no side files."""

    class_names: tuple[str, ...]
    input_spec: InputSpec
    test_accuracy: float | None
    seed: int | None
    epochs: int | None


def save_lenet(network: LeNet, info: CheckpointInfo, path: Path) -> None:
    """Write weights and metadata atomically: a crash never leaves half a checkpoint."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "architecture": ARCHITECTURE,
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


def load_lenet(path: Path, name: str) -> Classifier:
    """Load a checkpoint written by :func:`save_lenet` as a Classifier.

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
    if payload.get("version") != CHECKPOINT_VERSION or payload.get("architecture") != ARCHITECTURE:
        raise ModelLoadError(
            f"{path} is checkpoint version {payload.get('version')} of "
            f"{payload.get('architecture')!r}; this evofool reads version "
            f"{CHECKPOINT_VERSION} of {ARCHITECTURE!r}")
    try:
        class_names = tuple(payload["class_names"])
        network = LeNet(num_classes=len(class_names))
        network.load_state_dict(payload["state_dict"])
        spec = InputSpec.from_dict(payload["input_spec"])
    except (KeyError, RuntimeError, ValueError) as error:
        raise ModelLoadError(f"{path} is damaged: {first_line(error)}") from error
    return Classifier(network, input_spec=spec, class_names=class_names, name=name)
