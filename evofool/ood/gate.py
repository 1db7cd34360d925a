"""Evolving past an OOD detector: a child counts for a class only if the detector keeps it.

The detector's threshold keeps ``tpr`` of the natural test images (95 %: the
usual operating point), so an image "passes" when its outlier score is at most
the threshold. The fitness a search ranks children by (evofool.algorithms) is

- a passing image: its confidence p in the class, in [0, 1], as without a detector;
- a flagged image: (p * exp(-excess) - 1) / 2, in [-0.5, 0), with
  excess = (score - threshold) / spread and spread the natural images'
  interquartile range of scores (so that excess means the same for every detector).

Every flagged image ranks below every passing one, and among flagged images
those nearer the threshold and more confident rank higher: evolution has a
gradient toward passing instead of a wall. The archive keeps the true
confidence beside the fitness, so stores, plots and exports never show the
negative numbers.

The fitted detector, threshold and spread are saved in the run directory when a
run starts and loaded on resume, never re-fit: a fit on another processor could
differ in the last bits and change which images pass.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from evofool.errors import EvofoolError
from evofool.files.atomic import replaced_atomically
from evofool.models import Classifier
from evofool.ood.detectors import (
    FEATURE_DETECTORS,
    GATE_DETECTORS,
    FittedDetector,
    fit_detector,
    fit_representations,
)
from evofool.ood.representations import BATCH, represent

GATE_FORMAT = "evofool-detector-gate-2"  # 2: plain data (1 was a pickled object)
# images scored at once: represent()'s batch, a multiple of ODIN's, so no inner split straddles
SCORE_CHUNK = BATCH


@dataclass
class DetectorGate:
    """A fitted detector and its threshold, applied to every scored child.

    It scores on the CPU with its own copy of the classifier, taken before any
    engine or device is attached to the evaluator's: the features come from
    torch there, whatever engine scores the probabilities.

    Attributes:
        detector: the fitted detector (outlier scores, larger = more likely OOD).
        threshold: images scoring at most this pass.
        spread: the natural test images' interquartile range of scores.
        facts: what it was fit and thresholded on, for summary.json.
    """

    detector: FittedDetector
    threshold: float
    spread: float
    facts: dict[str, Any]
    classifier: Classifier = field(repr=False)

    def outlier_scores(self, images: torch.Tensor) -> torch.Tensor:
        """(N,) float32 outlier scores of [0, 1] ``images``, on their device, scored in
        fixed chunks of SCORE_CHUNK: an image's score does not depend on how many came with
        it (float32 kernels may differ in the last bits with the batch), so a generation
        scored whole in the driver and in shards of whole chunks on Ray actors agree."""
        pixels = images.cpu()
        scores = [self.detector.score(represent(self.classifier, chunk), chunk).float()
                  for chunk in pixels.split(SCORE_CHUNK)]
        return (torch.cat(scores) if scores else torch.zeros(0)).to(images.device)

    def passes(self, outlier: torch.Tensor) -> torch.Tensor:
        """Whether images with these outlier scores get past the detector."""
        return outlier <= self.threshold

    def fitness(self, probabilities: torch.Tensor, outlier: torch.Tensor) -> torch.Tensor:
        """(N, K) what the search ranks by: the confidence where the image passes, below
        every passing image where it does not (see the module docstring)."""
        passes = self.passes(outlier).unsqueeze(1)
        excess = ((outlier - self.threshold) / self.spread).clamp_min(0).unsqueeze(1)
        flagged = (probabilities * torch.exp(-excess) - 1) / 2
        return torch.where(passes, probabilities, flagged)

    def state(self) -> dict[str, Any]:
        """The fitted gate as plain data: what a run saves, and what Ray actors rebuild it
        from (``from_state``) beside their own copy of the model."""
        return {"format": GATE_FORMAT, "detector": self.detector.state(),
                "threshold": self.threshold, "spread": self.spread, "facts": self.facts}

    @classmethod
    def from_state(cls, state: dict[str, Any], classifier: Classifier) -> DetectorGate:
        """Raises: ValueError, KeyError, TypeError for a state that is not a gate's."""
        if not isinstance(state, dict) or state.get("format") != GATE_FORMAT:
            raise ValueError("not an evofool detector file")
        return cls(FittedDetector.from_state(state["detector"]), float(state["threshold"]),
                   float(state["spread"]), dict(state["facts"]), _cpu_copy(classifier))

    def save(self, path: Path) -> None:
        with replaced_atomically(path) as stream:
            torch.save(self.state(), stream)

    @classmethod
    def load(cls, path: Path, classifier: Classifier) -> DetectorGate:
        """The gate a run saved when it started, read as plain data: a crafted file (a run
        someone sent) must not run code when the run is resumed.

        Raises:
            EvofoolError: the file is missing, unreadable, or holds anything but data
                (as the detector files of evofool 0.1 did: pickled objects).
        """
        try:
            return cls.from_state(torch.load(path, map_location="cpu", weights_only=True),
                                  classifier)
        except EvofoolError as error:
            raise EvofoolError(f"cannot read the run's fitted detector {path}: {error}"
                               ) from error
        except Exception as error:  # weights_only refuses code in many ways
            raise EvofoolError(f"refusing the run's fitted detector {path}: it is not plain "
                               f"data ({type(error).__name__}: "
                               f"{str(error).strip().splitlines()[0][:120]})") from error


def fit_gate(classifier: Classifier, *, detector: str, fit_on: str, fit_images: int,
             threshold_on: str, tpr: float, load_images: Callable[..., Any]) -> DetectorGate:
    """Fit ``detector`` on ``fit_on`` (feature detectors only) and set its threshold so it
    keeps ``tpr`` of ``threshold_on``'s images.

    ``load_images(name, shape=, limit=)`` reads a named image set (the run layer's
    evofool.run.image_sets.load_image_set: sets can be other runs, which the gate below
    them must not import); it returns an object with ``images``, ``labels`` and a length.

    Raises:
        EvofoolError: a detector that cannot gate, or an image set that does not load.
    """
    if detector not in GATE_DETECTORS:
        raise EvofoolError(f"evaluator.detector.type must be one of {', '.join(GATE_DETECTORS)}, "
                           f"got {detector!r}")
    classifier = _cpu_copy(classifier)
    shape = classifier.input_spec.shape
    fit = fit_labels = None
    facts: dict[str, Any] = {"type": detector, "tpr": tpr}
    if detector in FEATURE_DETECTORS:
        fit_set = load_images(fit_on, shape=shape, limit=fit_images)
        fit, fit_labels = fit_representations(classifier, fit_set.images, fit_set.labels)
        facts["fit_on"] = {"set": fit_on, "images": len(fit_set)}
    fitted = fit_detector(detector, classifier, fit, fit_labels)
    natural = load_images(threshold_on, shape=shape)
    scores = fitted.score(represent(classifier, natural.images), natural.images).float()
    threshold = float(torch.quantile(scores.double(), tpr))
    quartiles = torch.quantile(scores.double(), torch.tensor([0.25, 0.75], dtype=torch.double))
    spread = max(float(quartiles[1] - quartiles[0]), 1e-12)
    facts.update(threshold_on={"set": threshold_on, "images": len(natural)},
                 threshold=threshold)
    return DetectorGate(fitted, threshold, spread, facts, classifier)


def _cpu_copy(classifier: Classifier) -> Classifier:
    """The classifier for the gate alone, so the evaluator may move or attach an engine to
    its own.

    Raises:
        EvofoolError: an ensemble (several models), which has no one feature layer.
    """
    if not isinstance(classifier, Classifier):
        raise EvofoolError("evaluator.detector needs one model, not several: a detector reads "
                           "one network's features")
    return copy.deepcopy(classifier).cpu().eval()
