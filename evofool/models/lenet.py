"""LeNet in the shape of Caffe's MNIST example (its checkpoints: evofool.models.checkpoint).

The paper's MNIST victim is Caffe's ``lenet_train_test.prototxt``:
conv 20@5x5 -> max-pool 2 -> conv 50@5x5 -> max-pool 2 -> fc 500 -> ReLU -> fc 10,
on pixels scaled to [0, 1] (Caffe's ``scale: 0.00390625``) with no mean subtracted.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from evofool.files.cache import cache_dir
from evofool.models.input_spec import InputSpec

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
