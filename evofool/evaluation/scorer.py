"""Score whole populations of images in as few forward passes as memory allows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from evofool.defenses import DefenseChain
from evofool.engines import EngineError, attach_engine
from evofool.engines.registry import engine_named
from evofool.errors import NonFiniteScoresError
from evofool.evaluation.devices import check_memory_plan, resolve_device
from evofool.models.classifier import Classifier, private_copy

if TYPE_CHECKING:
    from evofool.evaluation.settings import EvaluatorSettings

DEFAULT_MAX_BATCH = 256


class ImageScorer:
    """Owns a classifier on a device and turns image batches into probabilities.

    Speed is the product: images are cut into chunks of at most ``max_batch``
    (LeNet's throughput plateaus around 256 on CPU; raise it on a GPU), laid
    out channels-last, and run under ``torch.inference_mode``, with bf16
    autocast on CUDA when ``amp`` is set. Probabilities stay on the device, so
    a GPU run only moves the small archive update to the host.

    Args:
        classifier: the model; the evaluator moves and runs its own copy, so the
            caller's (and every other scorer's) stays as it was loaded.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        max_batch: the largest chunk handed to the network at once.
        amp: autocast the forward pass to bf16 on CUDA (ignored elsewhere).
        defenses: input defences applied before the network, in order
            (evofool.defenses: settings, mappings or ``jpeg:quality=75`` texts);
            ``ten_crop`` is the paper's ImageNet fitness. Each image's
            probabilities are averaged over the copies they make.
        engine: what runs the network: ``torch``, ``onnxruntime`` (CPU; about 2x
            torch eager for ImageNet networks) or ``auto`` (see ``evofool.engines``).

    Attributes:
        images_scored: how many images this evaluator has scored in all.
        engine: the engine that scores, ``torch`` or ``onnxruntime`` (never ``auto``).
    """

    def __init__(self, classifier: Classifier, *, device: str = "auto",
                 max_batch: int = DEFAULT_MAX_BATCH, amp: bool = False,
                 defenses: Sequence[Any] = (), engine: str = "torch") -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        self.device = resolve_device(device)
        self.source = classifier  # as handed over: what a torch twin copies
        self.classifier = private_copy(classifier, device=self.device,
                                       memory_format=torch.channels_last).eval()
        self.max_batch = max_batch
        self.amp = amp and self.device.type == "cuda"
        self.defenses = DefenseChain(defenses, self.classifier.input_spec)
        check_memory_plan(self.defenses.memory_plan(self.classifier.input_spec), self.device)
        self.images_scored = 0
        self.engine = attach_engine(self.classifier, engine=engine, device=self.device,
                                    batch=chunk_size(self.max_batch, self.defenses.samples))

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.classifier.class_names

    def torch_twin(self) -> ImageScorer:
        """This scorer where it runs torch, else one like it that does (same classifier,
        device, chunks, autocast and defences): what differentiates where an engine
        without gradients scores."""
        if self.engine == "torch":
            return self
        return ImageScorer(self.source, device=str(self.device), max_batch=self.max_batch,
                           amp=self.amp, defenses=self.defenses.settings, engine="torch")

    def score(self, images: torch.Tensor, keys: list[int] | None = None) -> torch.Tensor:
        """Probabilities (N, K), float32 on the evaluator's device, for [0, 1] images (N, C, H, W).

        ``keys`` (one per image, evofool.defenses.image_keys) seed random defences.

        Raises:
            InputShapeError: images the classifier cannot take.
            NonFiniteScoresError: the model produced NaN or infinity.
        """
        self.classifier.check_shape(images)
        count = images.shape[0]
        probabilities = torch.empty(count, self.classifier.num_classes, device=self.device)
        step = chunk_size(self.max_batch, self.defenses.samples)
        with torch.inference_mode(), torch.autocast(
                self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            for start in range(0, count, step):
                chunk = images[start:start + step].to(self.device, non_blocking=True)
                probabilities[start:start + chunk.shape[0]] = self._probabilities(
                    chunk, None if keys is None else keys[start:start + step])
        if not bool(torch.isfinite(probabilities).all()):
            raise NonFiniteScoresError(
                f"{self.classifier.name} produced NaN or infinite outputs; check the model "
                "and that images are finite values in [0, 1]")
        self.images_scored += count
        return probabilities

    def log_probability_gradient(self, images: torch.Tensor,
                                 targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Probabilities (N, K) and the gradient of each image's log-probability of its target.

        For gradient ascent (the paper's comparison): the same preprocessing,
        crops and autocast as ``score``, with autograd on, so always in torch; in the
        same fixed chunks as ``score``, so an image's gradient does not depend on how
        many came with it (Ray actors get whole chunks).
        """
        if self.engine != "torch":
            raise EngineError(f"gradients need the torch engine, not {self.engine}; "
                              "set evaluator.engine: torch")
        self.classifier.check_shape(images)
        step = chunk_size(self.max_batch, self.defenses.samples)
        parts = [self._gradient(images[start:start + step], targets[start:start + step])
                 for start in range(0, images.shape[0], step)]
        self.images_scored += images.shape[0]
        return (torch.cat([probabilities for probabilities, _ in parts]),
                torch.cat([gradient for _, gradient in parts]))

    def _gradient(self, images: torch.Tensor, targets: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = images.detach().to(self.device).requires_grad_(True)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            probabilities = self._probabilities(pixels, None)
        chosen = probabilities.gather(1, targets.to(self.device).view(-1, 1))
        (gradient,) = torch.autograd.grad(chosen.clamp_min(1e-30).log().sum(), pixels)
        return probabilities.detach(), gradient

    def _probabilities(self, images: torch.Tensor, keys: list[int] | None) -> torch.Tensor:
        if not self.defenses:
            return self.classifier.probabilities(self._laid_out(images))
        return self.defenses.probabilities(
            images, keys, lambda copies: self.classifier.probabilities(self._laid_out(copies)))

    def _laid_out(self, images: torch.Tensor) -> torch.Tensor:
        """Channels-last for torch's kernels; ONNX Runtime takes the rendered NCHW as it is
        (a channels-last copy would only be copied back: 240 MB each way for 400 images)."""
        if self.engine == "torch":
            return images.contiguous(memory_format=torch.channels_last)
        return images.contiguous()


def scorer_for(classifier: Classifier, settings: EvaluatorSettings, *, engine: str,
               screening: bool = False, device: str | None = None) -> ImageScorer:
    """The one place a run's scorers are made from its ``evaluator`` settings: the exact
    one in the driver and on each Ray actor (``device``: the actor's), and a screen's.
    A screening scorer calls its engine in the engine's own chunk size where that is
    smaller (Engine.screen_batch) and never autocasts: it computes in its own precision."""
    max_batch = screening_max_batch(settings, engine) if screening else settings.max_batch
    return ImageScorer(classifier, device=device or settings.device, max_batch=max_batch,
                       amp=settings.amp and not screening, defenses=settings.defense_chain,
                       engine=engine)


def screening_max_batch(settings: EvaluatorSettings, engine: str) -> int:
    """The largest chunk a screening scorer on ``engine`` hands to it at once."""
    return min(settings.max_batch, engine_named(engine).screen_batch or settings.max_batch)


def chunk_size(max_batch: int, copies: int) -> int:
    """Images per forward call: a chunk of n images is ``copies`` * n network inputs where
    defences copy each image (ten crops: 10).

    Every backend cuts a batch at the same multiples of this size (Ray shards
    included), because float32 kernels may give an image slightly different
    results inside batches of different sizes: fixed chunks make scores
    independent of how a population is split up.
    """
    return max(1, max_batch // copies)
