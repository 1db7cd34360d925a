"""The image sets an OOD evaluation compares: natural, fooling and noise, as uint8.

A set is named by what the user typed: ``mnist-test`` / ``mnist-train`` (built
in), a ``.pt`` file with an ``images`` (and optionally ``labels``) tensor, as
``evofool export --format pt`` writes, an export directory holding one, a run
or n+1 experiment directory (its fooling images, rendered from the store), or
``uniform-noise`` / ``gaussian-noise`` of the model's input shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from evofool.errors import EvofoolError
from evofool.files.images import to_uint8
from evofool.run.stored import StoredRun
from evofool.store import is_run_dir
from evofool.store.retrain_layout import expand_run_dirs, is_retrain_dir
from evofool.store.tensor_files import load_tensor_file

NOISE = ("uniform-noise", "gaussian-noise")
MNIST = ("mnist-train", "mnist-test")


@dataclass(frozen=True)
class ImageSet:
    """``images`` uint8 (N, C, H, W); ``labels`` int64 class labels where known: a natural
    image's class, a fooling image's fooled class."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.images)


def load_image_set(spec: str, *, shape: tuple[int, int, int], limit: int | None = None,
                   min_confidence: float = 0.9, include_history: bool = True,
                   seed: int = 0) -> ImageSet:
    """The set ``spec`` names, at most ``limit`` images (the first ones; noise: exactly).

    Raises:
        EvofoolError: an unknown name, a missing or unreadable file, an empty set,
            or images whose channel count differs from ``shape``'s.
    """
    if spec in NOISE:
        return _noise(spec, limit or 1000, shape, seed)
    if spec in MNIST:
        from evofool.data import load_mnist

        mnist = load_mnist()
        split = "train" if spec == "mnist-train" else "test"
        images = torch.from_numpy(getattr(mnist, f"{split}_images")).unsqueeze(1)
        labels = torch.from_numpy(getattr(mnist, f"{split}_labels")).long()
        image_set = ImageSet(spec, images[:limit], labels[:limit])
    else:
        path = Path(spec)
        if is_run_dir(path) or is_retrain_dir(path):
            image_set = _fooling(path, min_confidence, include_history, limit)
        elif path.is_dir() and (path / "fooling.pt").exists():
            image_set = _from_pt(path / "fooling.pt", spec, limit)
        elif path.suffix == ".pt" and path.is_file():
            image_set = _from_pt(path, spec, limit)
        else:
            raise EvofoolError(f"{spec}: not an image set (a run or n+1 directory, a .pt "
                               f"file or export, or one of {', '.join(MNIST + NOISE)})")
    if len(image_set) == 0:
        raise EvofoolError(f"{spec}: no images (fooling images need confidence >= "
                           f"{min_confidence}; see --min-confidence)")
    if image_set.images.shape[1] != shape[0]:
        raise EvofoolError(f"{spec} has {image_set.images.shape[1]}-channel images; the model "
                           f"takes {shape[0]}")
    return image_set


def _noise(kind: str, count: int, shape: tuple[int, int, int], seed: int) -> ImageSet:
    generator = torch.Generator().manual_seed(seed)
    if kind == "uniform-noise":
        values = torch.rand(count, *shape, generator=generator)
    else:  # mid-grey with a quarter of the range as its spread
        values = (0.5 + 0.25 * torch.randn(count, *shape, generator=generator)).clamp(0, 1)
    return ImageSet(kind, torch.from_numpy(to_uint8(values).transpose(0, 3, 1, 2).copy()))


def _fooling(path: Path, min_confidence: float, include_history: bool,
             limit: int | None) -> ImageSet:
    pixels, fooled = [], []
    for run_dir, label in expand_run_dirs([path], None):
        run = StoredRun(run_dir, label=label)
        try:
            chosen = run.select(min_confidence=min_confidence,
                                   include_history=include_history)
            if chosen:
                pixels.append(to_uint8(run.render([image.genome_id for image in chosen])))
                fooled += [image.class_index for image in chosen]
        finally:
            run.close()
    images = np.concatenate(pixels) if pixels else np.zeros((0, 1, 1, 1), np.uint8)
    return ImageSet(str(path), torch.from_numpy(images.transpose(0, 3, 1, 2).copy())[:limit],
                    torch.tensor(fooled, dtype=torch.long)[:limit])


def _from_pt(path: Path, name: str, limit: int | None) -> ImageSet:
    data = load_tensor_file(path, "an image set (.pt with an 'images' uint8 tensor)")
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, torch.Tensor):
        raise EvofoolError(f"{path}: not an image set (.pt with an 'images' uint8 tensor)")
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise EvofoolError(f"{path}: 'images' must be uint8 (N, C, H, W), got "
                           f"{images.dtype} {tuple(images.shape)}")
    labels = data.get("labels")
    if labels is not None and (not isinstance(labels, torch.Tensor)
                               or tuple(labels.shape) != (len(images),)):
        raise EvofoolError(f"{path}: 'labels' must be one integer per image")
    return ImageSet(name, images[:limit], None if labels is None else labels[:limit].long())
