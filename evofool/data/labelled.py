"""Labelled natural images for any model: MNIST or an image folder, at the model's shape.

What the n+1 experiment (and ``evofool train small-cnn``) trains and tests on.
A source is ``mnist`` or a directory laid out as torchvision's ImageFolder (one
sub-directory of images per class, named by its class): with ``train/`` and
``test/`` sub-directories those are the splits, else every fifth image of each
class (by file name) is held out for testing. Images are converted to the
model's channel count (grayscale or RGB) and resized to its height and width
(bilinear), then kept as uint8 (N, C, H, W).
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from evofool.errors import DataUnavailableError, ImageReadError
from evofool.files.images import pil_pixels, read_pixels
from evofool.models.class_names import class_name_problem

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".tif", ".tiff", ".webp")
TEST_EVERY = 5  # without train/ and test/: each class's 5th, 10th, ... image is a test image


@dataclass(frozen=True)
class LabelledImages:
    """Train and test splits: images uint8 (N, C, H, W), labels int64 (N,) indexing
    ``class_names``; ``source`` names where they came from."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple[str, ...]
    source: str

    def with_test_images(self, count: int | None) -> LabelledImages:
        """The same with ``count`` of the test images: each class's share of them (its
        share of the test set), the first of that class in the data's order, so the choice
        does not depend on how the classes interleave (MNIST's arrays and the same digits
        saved as a folder, class by class, give the same images); all where ``count`` is
        None or at least as many."""
        if count is None or count >= len(self.test_labels):
            return self
        sizes = np.bincount(self.test_labels)
        quota = count * sizes / sizes.sum()
        per_class = np.floor(quota).astype(np.int64)  # then the largest remainders get one
        per_class[np.argsort(per_class - quota, kind="stable")[:count - per_class.sum()]] += 1
        keep = np.sort(np.concatenate([np.flatnonzero(self.test_labels == label)[:take]
                                       for label, take in enumerate(per_class) if take]))
        return dataclasses.replace(self, test_images=self.test_images[keep],
                                   test_labels=self.test_labels[keep])

    def labelled_as(self, class_names: tuple[str, ...]) -> LabelledImages:
        """The same images with labels indexing ``class_names`` (a model's classes): by
        name where these images' class names are among them (in any order; some of an
        ImageNet model's 1000, say), else by position.

        Raises:
            DataUnavailableError: names not among the model's, and a different count.
        """
        if tuple(class_names) == self.class_names:
            return self
        if set(self.class_names) <= set(class_names):
            index = np.array([class_names.index(name) for name in self.class_names])
            return dataclasses.replace(self, train_labels=index[self.train_labels],
                                       test_labels=index[self.test_labels],
                                       class_names=tuple(class_names))
        if len(class_names) != len(self.class_names):
            listed = ", ".join(self.class_names[:5]) + (", ..." if len(self.class_names) > 5
                                                        else "")
            raise DataUnavailableError(
                f"{self.source} has {len(self.class_names)} classes ({listed}) but the model "
                f"has {len(class_names)}, and their names are not among the model's")
        return dataclasses.replace(self, class_names=tuple(class_names))


def load_labelled_images(source: str, shape: tuple[int, int, int]) -> LabelledImages:
    """``mnist`` or an image folder's path, at ``shape`` (C, H, W).

    Raises:
        DataUnavailableError: no such folder, no class folders or images in it, an
            unreadable image (named), or a class without test images.
    """
    if source == "mnist":
        from evofool.data.mnist import MNIST_CLASS_NAMES, load_mnist

        mnist = load_mnist()
        return LabelledImages(at_shape(mnist.train_images[:, None], shape),
                              mnist.train_labels.astype(np.int64),
                              at_shape(mnist.test_images[:, None], shape),
                              mnist.test_labels.astype(np.int64), MNIST_CLASS_NAMES, "mnist")
    return _image_folder(Path(source).expanduser(), shape)


def at_shape(images: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """uint8 (N, C, H, W) images converted to ``shape``'s channels and size (unchanged
    where they have it already)."""
    if tuple(images.shape[1:]) == tuple(shape):
        return images
    channels, height, width = shape
    return np.stack([pil_pixels(Image.fromarray(image[0] if len(image) == 1
                                                else image.transpose(1, 2, 0)),
                                channels=channels, size=(height, width))
                     for image in images])


def _image_folder(root: Path, shape: tuple[int, int, int]) -> LabelledImages:
    if not root.is_dir():
        raise DataUnavailableError(f"{root}: no such image folder (expected 'mnist' or a "
                                   "directory with one sub-directory of images per class)")
    if (root / "train").is_dir() and (root / "test").is_dir():
        train, test = _class_files(root / "train"), _class_files(root / "test")
        if sorted(train) != sorted(test):
            raise DataUnavailableError(f"{root}: train/ and test/ hold different classes")
    else:
        every = _class_files(root)
        train = {name: [f for i, f in enumerate(files) if (i + 1) % TEST_EVERY] for name, files
                 in every.items()}
        test = {name: files[TEST_EVERY - 1::TEST_EVERY] for name, files in every.items()}
    class_names = tuple(sorted(train))
    empty = [name for name in class_names if not test[name] or not train[name]]
    if empty:
        raise DataUnavailableError(f"{root}: class {empty[0]!r} has too few images to hold "
                                   f"one out for testing (at least {TEST_EVERY} needed, or "
                                   "train/ and test/ sub-directories)")
    train_images, train_labels = _read(train, class_names, shape)
    test_images, test_labels = _read(test, class_names, shape)
    return LabelledImages(train_images, train_labels, test_images, test_labels, class_names,
                          str(root))


def _class_files(directory: Path) -> dict[str, list[Path]]:
    """Class name -> its image files, sorted by name (links and hidden files skipped)."""
    classes = {entry.name: sorted(path for path in entry.iterdir()
                                  if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
                                  and not path.is_symlink() and not path.name.startswith("."))
               for entry in directory.iterdir()
               if entry.is_dir() and not entry.is_symlink() and not entry.name.startswith(".")}
    empty = sorted(name for name, files in classes.items() if not files)
    if empty:
        print(f"evofool: {directory}: skipping {len(empty)} class folder(s) without images: "
              f"{', '.join(map(repr, empty[:5]))}{', ...' if len(empty) > 5 else ''}",
              file=sys.stderr)
    classes = {name: files for name, files in classes.items() if files}
    problem = next(filter(None, map(class_name_problem, classes)), None)
    if problem is not None:
        raise DataUnavailableError(f"{directory}: class folder name {problem}; rename it")
    if len(classes) < 2:
        raise DataUnavailableError(f"{directory}: an image folder needs at least two class "
                                   f"sub-directories with images ({', '.join(IMAGE_SUFFIXES)})")
    return classes


def _read(files: dict[str, list[Path]], class_names: tuple[str, ...],
          shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    channels, height, width = shape
    images, labels = [], []
    for label, name in enumerate(class_names):
        for path in files[name]:
            try:
                images.append(read_pixels(path, channels=channels, size=(height, width)))
            except ImageReadError as error:
                raise DataUnavailableError(str(error)) from error
            labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=np.int64)
