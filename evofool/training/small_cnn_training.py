"""Train the small CNN (evofool.models.small_cnn) on labelled images: MNIST or an image
folder at any channel count and size, reproducibly from a seed."""

from __future__ import annotations

from pathlib import Path

import torch

from evofool.data import load_labelled_images
from evofool.errors import ConfigError
from evofool.models.checkpoint import CheckpointInfo, save_checkpoint
from evofool.models.input_spec import InputSpec
from evofool.models.small_cnn import SmallCnn
from evofool.training.fitting import TrainingResult, as_unit_floats, fit, test_accuracy
from evofool.training.model_file import checked_model_path

DEFAULT_EPOCHS = 10
MIN_SIZE, MAX_SIZE = 4, 512


def train_small_cnn(data: str, out: Path, *, channels: int = 3, size: int = 32,
                    epochs: int = DEFAULT_EPOCHS, seed: int = 0, progress: bool = True,
                    overwrite: bool = False) -> TrainingResult:
    """Fit a small CNN to ``data`` (``mnist`` or an image folder, evofool.data.labelled) at
    ``channels`` x ``size`` x ``size`` and save a self-describing checkpoint whose classes
    are the data's (other image sizes are resized to ``size``); ``out`` is checked first
    (evofool.training.model_file: ``overwrite`` replaces an evofool model file)."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ConfigError(f"small-cnn size must be {MIN_SIZE}..{MAX_SIZE} pixels, not {size} "
                          "(two 2x2 poolings need 4; larger sizes train slowly for nothing)")
    out = checked_model_path(out, overwrite=overwrite)
    spec = InputSpec(channels=channels, height=size, width=size, resize=True)
    natural = load_labelled_images(data, spec.shape)
    torch.manual_seed(seed)
    network = fit(SmallCnn(channels, len(natural.class_names)),
                  as_unit_floats(natural.train_images),
                  torch.from_numpy(natural.train_labels), epochs=epochs, seed=seed,
                  what="small CNN", progress=progress)
    accuracy = test_accuracy(network, natural.test_images, natural.test_labels)
    save_checkpoint(network, CheckpointInfo(class_names=natural.class_names, input_spec=spec,
                                            test_accuracy=accuracy, seed=seed, epochs=epochs),
                    out)
    return TrainingResult(test_accuracy=accuracy, path=out)
