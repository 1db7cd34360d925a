"""Score whole populations of images in as few forward passes as memory allows."""

from __future__ import annotations

import torch

from evofool.devices import resolve_device
from evofool.errors import NonFiniteScoresError
from evofool.models.classifier import Classifier

DEFAULT_MAX_BATCH = 256


class BatchedEvaluator:
    """Owns a classifier on a device and turns image batches into probabilities.

    Speed is the product: images are cut into chunks of at most ``max_batch``
    (LeNet's throughput plateaus around 256 on CPU; raise it on a GPU), laid
    out channels-last, and run under ``torch.inference_mode``, with bf16
    autocast on CUDA when ``amp`` is set. Probabilities stay on the device, so
    a GPU run only moves the small archive update to the host.

    Args:
        classifier: the model; moved to ``device``.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        max_batch: the largest chunk handed to the network at once.
        amp: autocast the forward pass to bf16 on CUDA (ignored elsewhere).

    Attributes:
        images_scored: how many images this evaluator has scored in all.
    """

    def __init__(self, classifier: Classifier, *, device: str = "auto",
                 max_batch: int = DEFAULT_MAX_BATCH, amp: bool = False) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        self.device = resolve_device(device)
        self.classifier = classifier.to(self.device).to(memory_format=torch.channels_last).eval()
        self.max_batch = max_batch
        self.amp = amp and self.device.type == "cuda"
        self.images_scored = 0

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.classifier.class_names

    def score(self, images: torch.Tensor) -> torch.Tensor:
        """Probabilities (N, K), float32 on the evaluator's device, for [0, 1] images (N, C, H, W).

        Raises:
            InputShapeError: images the classifier cannot take.
            NonFiniteScoresError: the model produced NaN or infinity.
        """
        self.classifier.check_shape(images)
        count = images.shape[0]
        probabilities = torch.empty(count, self.classifier.num_classes, device=self.device)
        with torch.inference_mode(), torch.autocast(
                self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            for start in range(0, count, self.max_batch):
                chunk = images[start:start + self.max_batch].to(
                    self.device, non_blocking=True, memory_format=torch.channels_last)
                probabilities[start:start + chunk.shape[0]] = self.classifier.probabilities(chunk)
        if not bool(torch.isfinite(probabilities).all()):
            raise NonFiniteScoresError(
                f"{self.classifier.name} produced NaN or infinite outputs; check the model "
                "and that images are finite values in [0, 1]")
        self.images_scored += count
        return probabilities
