"""evofool's own classifier checkpoints: weights with the metadata that makes them a model.

A checkpoint names its architecture (one of ``ARCHITECTURES``), and the
architecture is rebuilt from the class count and input spec it stores, so a
file needs no side files and no code beside it (it loads with
``weights_only``: nothing in it runs). A network evofool cannot build (a
torchvision, timm or TorchScript model given extra outputs by the n+1
experiment) is saved as ``widened``: it names the model spec it was loaded
from (``base``), and loading rebuilds that model's network, widens its output
layer to the stored class count and loads every weight from the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from evofool.errors import ModelLoadError, first_line
from evofool.models.classifier import Classifier
from evofool.models.input_spec import InputSpec
from evofool.models.lenet import LeNet
from evofool.models.output_layer import widen_output
from evofool.models.small_cnn import SmallCnn

CHECKPOINT_FORMAT = "evofool-classifier"
CHECKPOINT_VERSION = 1
# architecture name -> (network class, how to build one for K classes and an input spec)
ARCHITECTURES: dict[str, tuple[type[nn.Module], Callable[[int, InputSpec], nn.Module]]] = {
    "lenet-caffe": (LeNet, lambda classes, spec: LeNet(num_classes=classes)),
    "small-cnn": (SmallCnn, lambda classes, spec: SmallCnn(spec.channels, classes)),
}
WIDENED = "widened"  # a base model's network with a wider output layer
# model spec -> its network, weights aside: what a widened checkpoint is rebuilt from
BaseNetwork = Callable[[str], nn.Module]


@dataclass(frozen=True)
class CheckpointInfo:
    """Metadata that travels with the weights, so a checkpoint needs no side files."""

    class_names: tuple[str, ...]
    input_spec: InputSpec
    test_accuracy: float | None
    seed: int | None
    epochs: int | None


def architecture_of(network: nn.Module) -> str | None:
    """The checkpoint architecture ``network`` is an instance of, or None (not evofool's)."""
    return next((name for name, (kind, _) in ARCHITECTURES.items()
                 if type(network) is kind), None)


def fresh_network(architecture: str, classes: int, input_spec: InputSpec) -> nn.Module:
    """A newly initialised network of ``architecture`` (torch's generator draws it)."""
    return ARCHITECTURES[architecture][1](classes, input_spec)


def save_checkpoint(network: nn.Module, info: CheckpointInfo, path: Path, *,
                    base: str | None = None) -> None:
    """Write weights and metadata atomically: a crash never leaves half a checkpoint.

    ``base``: for a network of no evofool architecture, the model spec it was loaded
    from before its output layer was widened (a file as an absolute path).
    """
    architecture = architecture_of(network) or (WIDENED if base else None)
    if architecture is None:
        raise ValueError(f"{type(network).__name__} is no evofool checkpoint architecture "
                         f"({', '.join(ARCHITECTURES)}) and names no base model")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "architecture": architecture,
        "base": base if architecture == WIDENED else None,
        "state_dict": network.state_dict(),
        "class_names": list(info.class_names),
        "input_spec": info.input_spec.to_dict(),
        "test_accuracy": info.test_accuracy,
        "seed": info.seed,
        "epochs": info.epochs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        torch.save(payload, partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def read_checkpoint_payload(path: Path) -> dict[str, Any]:
    """What :func:`save_checkpoint` wrote at ``path``, read without running code.

    Raises:
        ModelLoadError: the file is unreadable or not an evofool checkpoint.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a corrupt file
        raise ModelLoadError(
            f"cannot read model file {path}: corrupt, truncated, or not a PyTorch checkpoint "
            f"({type(error).__name__})") from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ModelLoadError(f"{path} is not an evofool classifier checkpoint")
    return payload


def load_checkpoint(path: Path, name: str, *, base_network: BaseNetwork | None = None
                    ) -> Classifier:
    """Load a checkpoint written by :func:`save_checkpoint` as a Classifier.

    ``base_network`` builds a widened checkpoint's base (evofool.models.loading's); without
    it a widened checkpoint is refused, so one cannot name another as its base.

    Raises:
        ModelLoadError: the file is unreadable, not an evofool checkpoint, or
            its weights do not fit the architecture it names.
    """
    payload = read_checkpoint_payload(path)
    architecture = payload.get("architecture")
    known = (*ARCHITECTURES, WIDENED)
    if payload.get("version") != CHECKPOINT_VERSION or architecture not in known:
        raise ModelLoadError(
            f"{path} is checkpoint version {payload.get('version')} of {architecture!r}; "
            f"this evofool reads version {CHECKPOINT_VERSION} of {', '.join(map(repr, known))}")
    try:
        class_names = tuple(payload["class_names"])
        spec = InputSpec.from_dict(payload["input_spec"])
        if architecture == WIDENED:
            network = _widened_network(path, payload.get("base"), len(class_names),
                                       base_network)
        else:
            network = fresh_network(architecture, len(class_names), spec)
        network.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError, ValueError, TypeError) as error:
        raise ModelLoadError(f"{path} is damaged: {first_line(error)}") from error
    return Classifier(network, input_spec=spec, class_names=class_names, name=name)


def _widened_network(path: Path, base: Any, classes: int,
                     base_network: BaseNetwork | None) -> nn.Module:
    if not isinstance(base, str) or not base:
        raise ModelLoadError(f"{path} is a widened checkpoint that names no base model")
    if base_network is None:
        raise ModelLoadError(f"{path} is a widened checkpoint, which cannot be another's "
                             "base model")
    try:
        return widen_output(base_network(base), classes)
    except ModelLoadError as error:
        raise ModelLoadError(f"{path} widens {base}, which does not load: {error}") from error
