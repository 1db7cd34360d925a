"""What a classifier's network expects to be fed, stored beside its weights."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

MAX_SIDE = 2048  # pixels: every image a model is scored on is drawn at this size, so a
# crafted checkpoint declaring 3000x3000 cost gigabytes per image (ImageNet models: 224-600)


@dataclass(frozen=True)
class InputSpec:
    """The input a network was trained on.

    Attributes:
        channels: 1 (grayscale) or 3 (RGB).
        height: input height in pixels.
        width: input width in pixels.
        value_range: the range [0, 1] images are mapped onto before normalisation
            (e.g. (0, 255) for networks trained on raw bytes).
        mean: per-channel mean subtracted after scaling, or None.
        std: per-channel standard deviation divided by, or None.
        resize: True when images of another size are resized to height x width
            (ImageNet networks); False when other sizes are refused (LeNet's
            fully connected layers fix its input at 28 x 28).
    """

    channels: int
    height: int
    width: int
    value_range: tuple[float, float] = (0.0, 1.0)
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    resize: bool = False

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, not {self.channels}")
        if self.height < 1 or self.width < 1:
            raise ValueError(f"input size must be positive, not {self.height}x{self.width}")
        if self.height > MAX_SIDE or self.width > MAX_SIDE:
            raise ValueError(f"input size must be at most {MAX_SIDE} pixels a side, not "
                             f"{self.height}x{self.width}")
        if len(self.value_range) != 2 or self.value_range[0] >= self.value_range[1]:
            raise ValueError(f"value_range must be (low, high) with low < high: {self.value_range}")
        if (self.mean is None) != (self.std is None):
            raise ValueError("mean and std must be given together")
        for name in ("mean", "std"):
            values = getattr(self, name)
            if values is not None and len(values) != self.channels:
                raise ValueError(f"{name} needs {self.channels} values, not {len(values)}")
        if self.std is not None and min(self.std) <= 0:
            raise ValueError("std values must be positive")

    @property
    def shape(self) -> tuple[int, int, int]:
        """(channels, height, width), as images are laid out."""
        return (self.channels, self.height, self.width)

    def to_dict(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSpec:
        """Build from stored metadata; unknown keys and bad values raise ValueError."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown input spec key(s): {', '.join(unknown)}")
        values = dict(data)
        for key in ("value_range", "mean", "std"):
            if values.get(key) is not None:
                values[key] = tuple(float(v) for v in values[key])
        for key in ("channels", "height", "width"):
            if key not in values:
                raise ValueError(f"input spec lacks {key!r}")
            values[key] = int(values[key])
        return cls(**values)
