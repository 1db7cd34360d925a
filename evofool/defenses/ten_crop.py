"""Ten-crop scoring, the paper's ImageNet fitness: the model-sized crops at the four
corners and the centre, each also mirrored (``evaluator.ten_crop: true`` is this)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from evofool.defenses.base import Defense, DefenseSettings
from evofool.errors import InputShapeError
from evofool.models.input_spec import InputSpec

CROPS = 10


@dataclass(frozen=True)
class TenCropSettings(DefenseSettings):
    type: Literal["ten_crop"] = "ten_crop"


class TenCrop(Defense):
    samples = CROPS

    def __init__(self, settings: TenCropSettings, spec: InputSpec) -> None:
        self.height, self.width = spec.height, spec.width

    def transform(self, images: torch.Tensor, keys: list[int] | None) -> torch.Tensor:
        return ten_crops(images, self.height, self.width)


def ten_crops(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(10N, C, height, width): four corners and the centre of each image, then all mirrored.

    Crop k of image i sits at row k * N + i, so a (10, N, K) view groups them.

    Raises:
        InputShapeError: images smaller than the crop.
    """
    rows, columns = images.shape[-2:]
    if rows < height or columns < width:
        raise InputShapeError(f"ten-crop scoring needs images of at least {height}x{width}; "
                              f"got {rows}x{columns}")
    bottom, right = rows - height, columns - width
    corners = [(0, 0), (0, right), (bottom, 0), (bottom, right), (bottom // 2, right // 2)]
    crops = [images[..., top:top + height, left:left + width] for top, left in corners]
    return torch.cat(crops + [crop.flip(-1) for crop in crops])
