"""Monte-Carlo smoothing: the mean prediction over K Gaussian-noised copies of an image.

Randomized smoothing (Cohen, Rosenfeld & Kolter, 2019) is its certified form.
Copies are clipped to [0, 1] (what a camera could deliver). The noise of each
image comes from its own generator, seeded by the image's key, so a run that is
resumed, or scored in other batches, sees the same noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from evofool.defenses.base import Defense, DefenseSettings
from evofool.settings import positive


@dataclass(frozen=True)
class NoiseAverageSettings(DefenseSettings):
    type: Literal["noise_average"] = "noise_average"
    sigma: float = 0.1  # standard deviation of the noise, in [0, 1] pixel units
    samples: int = positive(16)  # noisy copies per image


class NoiseAverage(Defense):
    random = True

    def __init__(self, settings: NoiseAverageSettings, spec) -> None:
        self.sigma = settings.sigma
        self.samples = settings.samples

    def transform(self, images: torch.Tensor, keys: list[int] | None) -> torch.Tensor:
        if keys is None or len(keys) != images.shape[0]:
            raise ValueError("noise_average needs one key per image")
        noise = torch.empty(self.samples, *images.shape, dtype=images.dtype)
        for index, key in enumerate(keys):
            generator = torch.Generator().manual_seed(key)
            noise[:, index] = torch.randn(self.samples, *images.shape[1:], generator=generator)
        noisy = images.unsqueeze(0) + self.sigma * noise.to(images.device)
        return noisy.clamp_(0.0, 1.0).flatten(0, 1)
