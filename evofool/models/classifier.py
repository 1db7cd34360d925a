"""One interface over every model: images in [0, 1] in, softmax probabilities out."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from evofool.errors import InputShapeError, ModelLoadError, first_line
from evofool.models.class_names import class_names_problem
from evofool.models.input_spec import InputSpec


class Classifier(torch.nn.Module):
    """A network with its own preprocessing, so callers only ever hand it [0, 1] images.

    Encodings render pixels in [0, 1]; each source of models (LeNet on bytes
    scaled to [0, 1], ImageNet networks on normalised RGB at 224) wants
    something else. Keeping resize, scaling and normalisation inside the
    module means the evaluator and every algorithm stay model-agnostic.

    Args:
        network: maps preprocessed (N, C, H, W) tensors to logits (N, K).
        input_spec: what ``network`` expects.
        class_names: K names, index-aligned with the logits.
        name: the model spec this classifier was loaded from, for records.

    Raises:
        ModelLoadError: ``class_names`` that are not all class names
            (evofool.models.class_names).
    """

    def __init__(self, network: torch.nn.Module, *, input_spec: InputSpec,
                 class_names: Sequence[str], name: str) -> None:
        super().__init__()
        problem = class_names_problem(class_names)
        if problem is not None:
            raise ModelLoadError(f"{name}: {problem}")
        self.network = network.eval()
        self.input_spec = input_spec
        self.class_names = tuple(class_names)
        self.name = name
        low, high = input_spec.value_range
        mean = torch.zeros(input_spec.channels) if input_spec.mean is None \
            else torch.tensor(input_spec.mean)
        std = torch.ones(input_spec.channels) if input_spec.std is None \
            else torch.tensor(input_spec.std)
        # Fold range scaling and normalisation into one multiply-add: x * scale + shift.
        self._identity_preprocessing = (low, high) == (0.0, 1.0) and input_spec.mean is None
        self.register_buffer("_scale", ((high - low) / std).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("_shift", ((low - mean) / std).view(1, -1, 1, 1), persistent=False)
        self.engine: Callable[[torch.Tensor], torch.Tensor] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def check_shape(self, images: torch.Tensor) -> None:
        """Raise InputShapeError unless ``images`` is (N, C, H, W) this model accepts."""
        spec = self.input_spec
        if images.ndim != 4:
            raise InputShapeError(
                f"{self.name} takes images shaped (N, C, H, W); got {tuple(images.shape)}")
        if images.shape[1] != spec.channels:
            raise InputShapeError(
                f"{self.name} takes {spec.channels}-channel images; got {images.shape[1]}")
        if not spec.resize and tuple(images.shape[2:]) != (spec.height, spec.width):
            raise InputShapeError(
                f"{self.name} takes {spec.height}x{spec.width} images; "
                f"got {images.shape[2]}x{images.shape[3]}")

    def resize(self, images: torch.Tensor) -> torch.Tensor:
        """[0, 1] images at the model's own size (antialiased bilinear, where the spec allows).

        Kept apart from the rest of the forward because engines cannot take it:
        ONNX has no antialiased resize, so an engine starts after it.
        """
        spec = self.input_spec
        if tuple(images.shape[2:]) == (spec.height, spec.width):
            return images
        return F.interpolate(images, size=(spec.height, spec.width), mode="bilinear",
                             align_corners=False, antialias=True)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Probabilities (N, K) in float32 for [0, 1] images (N, C, H, W)."""
        self.check_shape(images)
        return self.probabilities(images)

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """``forward`` without the shape check, for callers that check a whole batch once.

        Runs on ``engine`` when one is attached (see ``evofool.engines``), else in torch.
        """
        images = self.resize(images)
        if self.engine is not None:
            return self.engine(images)
        return self.probabilities_at_model_size(images)

    def probabilities_at_model_size(self, images: torch.Tensor) -> torch.Tensor:
        """Normalise, run the network and softmax, in torch, on images already at model size.

        This is the part an engine replaces (it is what gets exported), and the
        path autograd needs.
        """
        return torch.softmax(self.logits_at_model_size(images), dim=-1)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """The network's float32 logits (N, K) for [0, 1] images, in torch (differentiable):
        what logit-based OOD detectors and ODIN read."""
        self.check_shape(images)
        return self.logits_at_model_size(self.resize(images))

    def logits_at_model_size(self, images: torch.Tensor) -> torch.Tensor:
        if not self._identity_preprocessing:
            images = torch.addcmul(self._shift, images, self._scale)
        return self.network(images).float()


class Logits(torch.nn.Module):
    """A classifier as a module from [0, 1] images to logits, its preprocessing included:
    what ODIN differentiates and what the n+1 experiment trains, so an ImageNet network
    learns on the normalised images it is scored on."""

    def __init__(self, classifier: Classifier) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.logits(images)


def probe_num_outputs(network: torch.nn.Module, input_spec: InputSpec, name: str) -> int:
    """Run one blank input through ``network``; a mismatched model fails here, not mid-run.

    Raises:
        ModelLoadError: the network cannot take an input of ``input_spec``'s shape.
    """
    try:
        with torch.inference_mode():
            outputs = network(torch.zeros(1, *input_spec.shape))
    except Exception as error:
        shape = "x".join(map(str, input_spec.shape))
        raise ModelLoadError(f"{name} fails on a {shape} input: {first_line(error)}") from error
    return outputs.shape[-1]


def private_copy(module: torch.nn.Module, **to: Any) -> torch.nn.Module:
    """A deep copy, moved with ``module.to(**to)``, for a part that moves or changes its
    model (a scorer, an exporter), leaving the caller's as loaded. Moving a copied
    TorchScript module reads each parameter's ``.grad``, which torch warns about
    although nothing is wrong."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning,
                                message="The .grad attribute of a Tensor that is not a leaf")
        return copy.deepcopy(module).to(**to)
