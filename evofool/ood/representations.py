"""What detectors read from a classifier: logits, penultimate features, the head.

The feature layer is the input of the network's last ``nn.Linear`` (the head that
maps features to logits): LeNet's 500 units, a ResNet's pooled features, the
classifier input of EfficientNet or a timm model. A network without one (a
TorchScript file whose modules are hidden, say) supports logit detectors only,
and the detectors that need features say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from evofool.errors import EvofoolError
from evofool.models import Classifier
from evofool.models.output_layer import output_layer

BATCH = 256


@dataclass(frozen=True)
class Representations:
    """``logits`` (N, K) and, where the network has a head, ``features`` (N, D)."""

    logits: torch.Tensor
    features: torch.Tensor | None


def network_head(classifier: Classifier) -> torch.nn.Linear | None:
    """The network's output layer (evofool.models.output_layer) if it outputs the logits
    and takes a forward hook (a TorchScript one does not), else None."""
    layer = output_layer(classifier.network)
    if not isinstance(layer, torch.nn.Linear) or layer.out_features != classifier.num_classes:
        return None
    return layer


def as_unit_floats(images: torch.Tensor) -> torch.Tensor:
    """uint8 images as [0, 1] floats; float images (rendered genomes) as they are."""
    return images.float() / 255 if images.dtype == torch.uint8 else images


def represent(classifier: Classifier, images: torch.Tensor) -> Representations:
    """Logits and head-input features of ``images`` (N, C, H, W; uint8, or [0, 1] floats).

    Always in batches of BATCH: float32 kernels may give an image slightly
    different numbers inside batches of other sizes, so a fixed split keeps
    each image's scores independent of how many it came with.
    """
    head = network_head(classifier)
    captured: list[torch.Tensor] = []
    hook = None if head is None else head.register_forward_hook(
        lambda module, inputs, output: captured.append(inputs[0].detach().flatten(1).float()))
    logits = []
    try:
        with torch.inference_mode():
            for start in range(0, len(images), BATCH):
                batch = as_unit_floats(images[start:start + BATCH])
                logits.append(classifier.logits(batch))
    finally:
        if hook is not None:
            hook.remove()
    return Representations(torch.cat(logits),
                           torch.cat(captured) if head is not None else None)


def require_features(representations: Representations, detector: str,
                     model: str) -> torch.Tensor:
    if representations.features is None:
        raise EvofoolError(f"detector {detector} needs the features before {model}'s last "
                           "linear layer, and the network has none evofool can find; "
                           "use logit detectors (msp, maxlogit, energy, entropy, odin)")
    return representations.features
