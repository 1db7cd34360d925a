"""JPEG compression (Dziugaite et al. 2016; Das et al. 2017): 8-bit, encoded, decoded.

Each image goes through PIL's encoder at ``quality`` (greyscale as L, colour as
RGB with PIL's default chroma subsampling), as the Adversarial Robustness
Toolbox's ``JpegCompression`` does (tests/test_defenses.py compares them).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from PIL import Image

from evofool.defenses.base import Defense, DefenseSettings
from evofool.files.images import to_uint8
from evofool.settings import between


@dataclass(frozen=True)
class JpegSettings(DefenseSettings):
    type: Literal["jpeg"] = "jpeg"
    quality: int = between(1, 100, 75)  # 1 (worst) .. 100


class Jpeg(Defense):
    def __init__(self, settings: JpegSettings, spec) -> None:
        self.quality = settings.quality

    def transform(self, images: torch.Tensor, keys: list[int] | None) -> torch.Tensor:
        pixels = to_uint8(images)  # (N, H, W, C)
        decoded = np.stack([self._round_trip(image) for image in pixels])
        return torch.from_numpy(decoded).permute(0, 3, 1, 2).float().div_(255.0).to(
            images.device)

    def _round_trip(self, image: np.ndarray) -> np.ndarray:
        grey = image.shape[-1] == 1
        encoded = io.BytesIO()
        Image.fromarray(image[..., 0] if grey else image, mode="L" if grey else "RGB").save(
            encoded, format="jpeg", quality=self.quality)
        decoded = np.asarray(Image.open(encoded))
        return decoded[..., None] if grey else decoded
