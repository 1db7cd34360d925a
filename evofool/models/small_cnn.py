"""A small convolutional network for any channel count and image size: what ``evofool train
small-cnn`` fits to an image folder, so the n+1 experiment has an RGB model to retrain."""

from __future__ import annotations

import torch
from torch import nn


class SmallCnn(nn.Module):
    """Three 3x3 convolution blocks (32, 64, 128 channels; the first two max-pooled), global
    average pooling and one linear layer: C x H x W -> K, at any H, W >= 4."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32),
            nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.BatchNorm2d(64),
            nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, kernel_size=3, padding=1), nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                        nn.Linear(128, num_classes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))
