"""Any evofool export as a PyTorch dataset, labelled the way OOD tools expect.

``evofool export`` writes PNG trees (``imagefolder``, ``openood``) or one array
file (``fooling.pt``, ``fooling.npz``), always with ``manifest.csv``.
``FoolingImages`` reads any of them, so training or testing an OOD detector on
fooling images needs no glue: targets are -1 by default (pytorch-ood marks OOD
samples with labels < 0), or the class each image fools.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image

from evofool.errors import EvofoolError
from evofool.store.tensor_files import load_tensor_file

MANIFEST = "manifest.csv"


class FoolingImages(torch.utils.data.Dataset):
    """Images as float32 (C, H, W) in [0, 1] (or ``transform(image)``), with targets.

    Args:
        root: an export directory.
        targets: "ood" (-1 for every image) or "fooled" (the class it fools).
        transform: applied to each image tensor.

    Raises:
        EvofoolError: ``root`` is not an evofool export.
    """

    def __init__(self, root: str | Path, *, targets: Literal["ood", "fooled"] = "ood",
                 transform: Callable[[torch.Tensor], Any] | None = None) -> None:
        self.root = Path(root)
        if not (self.root / MANIFEST).exists():
            raise EvofoolError(f"{self.root} is not an evofool export (no {MANIFEST})")
        with open(self.root / MANIFEST, newline="") as handle:
            self.rows = list(csv.DictReader(handle))
        self.targets = [-1 if targets == "ood" else int(row["class"]) for row in self.rows]
        self.transform = transform
        self._pixels = self._array_file()

    def _array_file(self) -> np.ndarray | None:
        """All images (N, C, H, W) uint8 for fooling.pt / .npz exports; None for PNG trees."""
        if (self.root / "fooling.pt").exists():
            data = load_tensor_file(self.root / "fooling.pt", "an evofool export")
            return data["images"].numpy()
        if (self.root / "fooling.npz").exists():
            with np.load(self.root / "fooling.npz") as data:
                return data["images"]
        return None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        if self._pixels is not None:
            pixels = torch.from_numpy(np.ascontiguousarray(self._pixels[index]))
        else:
            with Image.open(self.root / self.rows[index]["file"]) as image:
                array = np.asarray(image)
            pixels = torch.from_numpy(array.copy())
            pixels = pixels.unsqueeze(0) if pixels.ndim == 2 else pixels.permute(2, 0, 1)
        image = pixels.float() / 255
        return (self.transform(image) if self.transform else image), self.targets[index]
