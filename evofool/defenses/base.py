"""What an input defence is: a transformation of images before the classifier sees them.

A defence takes N images and gives ``samples`` transformed copies of each,
sample-major (copy s of image i at row s * N + i); the defended probabilities
are the classifier's probabilities averaged over the copies (evofool.defenses.
chain). Deterministic defences (JPEG, bit depth, median filter) give one copy;
ten-crop gives ten; noise averaging gives K noisy ones, drawn from a seed per
image (its *key*), so an image's defended score depends neither on the batch it
is scored in nor on how the batch is cut, and a resumed run draws the same noise.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch

from evofool.errors import ConfigError
from evofool.models.input_spec import InputSpec


@dataclass(frozen=True)
class DefenseSettings:
    """Settings of one defence; each defence's subclass adds its fields and its ``type``."""

    type: str = ""

    def label(self) -> str:
        """The defence as ``evofool defend`` and tables write it: ``jpeg:quality=75``."""
        fields = {name: value for name, value in vars(self).items() if name != "type"}
        return self.type + ("" if not fields else ":" + ",".join(
            f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
            for name, value in fields.items()))


class Defense(ABC):
    """A transformation applied to [0, 1] images (N, C, H, W) before the classifier.

    Attributes:
        samples: copies made of each image (their probabilities are averaged).
        random: True when the copies are drawn at random (they then need keys).
        channels: the channel count the defence needs, or None for any.
    """

    samples: int = 1
    random: ClassVar[bool] = False
    channels: ClassVar[int | None] = None

    def check(self, spec: InputSpec, name: str) -> None:
        """Raise ConfigError (naming ``name``) where this defence cannot serve a model
        taking ``spec``'s input."""
        if self.channels is not None and spec.channels != self.channels:
            raise ConfigError(f"defence {name} needs {self.channels}-channel images; the "
                              f"model takes {spec.channels}")

    @abstractmethod
    def transform(self, images: torch.Tensor, keys: list[int] | None) -> torch.Tensor:
        """(samples * N, C, H', W') copies, sample-major; ``keys`` seed each image's
        randomness (random defences only; None for the others)."""
