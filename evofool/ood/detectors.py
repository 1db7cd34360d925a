"""pytorch-ood's detectors by name, fit and scored on precomputed representations.

Every detector returns outlier scores, larger = more likely OOD (pytorch-ood's
convention). Logit detectors need nothing but logits; ODIN differentiates
through the classifier; feature detectors are fit on a natural training set's
features and labels (its true labels, or, for an unlabelled set, the model's
own predictions).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch

from evofool.errors import EvofoolError
from evofool.models import Classifier
from evofool.models.classifier import Logits
from evofool.ood.representations import (
    Representations,
    as_unit_floats,
    network_head,
    represent,
    require_features,
)
from evofool.vision_libs import import_pytorch_ood

LOGIT_DETECTORS = ("msp", "maxlogit", "energy", "entropy")
GRADIENT_DETECTORS = ("odin",)
FEATURE_DETECTORS = ("mahalanobis", "vim", "knn")
DETECTORS = LOGIT_DETECTORS + GRADIENT_DETECTORS + FEATURE_DETECTORS
GATE_DETECTORS = LOGIT_DETECTORS + FEATURE_DETECTORS  # ODIN would differentiate every child
ODIN_BATCH = 128
KNN_NEIGHBOURS = 50


def pytorch_ood() -> ModuleType:
    """pytorch-ood, or one line saying how to install it."""
    try:
        return import_pytorch_ood()
    except ImportError as error:
        raise EvofoolError("evofool ood needs pytorch-ood: pip install 'evofool[ood]' "
                           f"({error})") from error


@dataclass
class FittedDetector:
    """A detector ready to score: ``score(representations, images)`` -> (N,) outlier scores.

    Holds the pytorch-ood detector itself (fit, with no model attached except
    ODIN's). A fitted logit or feature detector travels as ``state()``: its
    tensors and numbers only, loadable with ``weights_only`` (a pickled object
    from a run someone sent could run code), and ``from_state`` rebuilds one that
    scores the same: a run evolving past a detector resumes against the very one
    it started with.
    """

    name: str
    detector: Any
    settings: dict
    model: str

    def score(self, representations: Representations, images: torch.Tensor) -> torch.Tensor:
        """Outlier scores; ``images`` (uint8 or [0, 1] floats) only for ODIN."""
        if self.name in LOGIT_DETECTORS:
            return self.detector.predict_logits(representations.logits)
        if self.name == "odin":
            return torch.cat([self.detector.predict(as_unit_floats(
                images[start:start + ODIN_BATCH])).detach()
                for start in range(0, len(images), ODIN_BATCH)])
        return self.detector.predict_features(
            require_features(representations, self.name, self.model))


    def state(self) -> dict[str, Any]:
        """The fitted detector as plain data: its tensors and numbers (a KNN's index as the
        features it was fit on), nothing that unpickles into code."""
        if self.name not in GATE_DETECTORS:
            raise EvofoolError(f"a fitted {self.name} detector cannot be saved")
        attributes = {key: value for key, value in vars(self.detector).items()
                      if value is None or isinstance(value, (torch.Tensor, int, float, bool))}
        state = {"name": self.name, "settings": self.settings, "model": self.model,
                 "attributes": attributes}
        if self.name == "knn":
            state["knn_fit"] = torch.from_numpy(self.detector.knn._fit_X)
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FittedDetector:
        """The detector ``state()`` described.

        Raises:
            EvofoolError: a state that names no gate detector or lacks its parts.
        """
        library = pytorch_ood().detector
        kinds = {"msp": library.MaxSoftmax, "maxlogit": library.MaxLogit,
                 "energy": library.EnergyBased, "entropy": library.Entropy,
                 "mahalanobis": library.Mahalanobis, "vim": library.ViM, "knn": library.KNN}
        try:
            name, attributes = state["name"], state["attributes"]
            kind = kinds[name]
            detector = kind.__new__(kind)  # its fitted attributes, not a new fit
            vars(detector).update(attributes)
            if name == "knn":
                from sklearn.neighbors import NearestNeighbors
                detector.knn = NearestNeighbors(n_jobs=-1).fit(state["knn_fit"].numpy())
            return cls(name, detector, dict(state["settings"]), str(state["model"]))
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise EvofoolError(f"not a saved detector ({type(error).__name__}: "
                               f"{str(error)[:100]})") from error


def fit_representations(classifier: Classifier, images: torch.Tensor,
                        labels: torch.Tensor | None) -> tuple[Representations, torch.Tensor]:
    """What feature detectors are fit on: the fit images' representations, and their labels
    (the true ones where given, else the model's own predictions)."""
    fit = represent(classifier, images)
    return fit, labels if labels is not None else fit.logits.argmax(1)


def fit_detector(name: str, classifier: Classifier, fit: Representations | None,
                 fit_labels: torch.Tensor | None) -> FittedDetector:
    """Detector ``name``, fit on ``fit`` (features) and ``fit_labels`` where it needs fitting.

    Raises:
        EvofoolError: an unknown name, or a feature detector for a network without a head.
    """
    library = pytorch_ood().detector
    if name in LOGIT_DETECTORS:
        kind = {"msp": library.MaxSoftmax, "maxlogit": library.MaxLogit,
                "energy": library.EnergyBased, "entropy": library.Entropy}[name]
        return FittedDetector(name, kind(None), {}, classifier.name)
    if name == "odin":
        odin = library.ODIN(Logits(classifier))
        return FittedDetector(name, odin, {"eps": odin.eps, "temperature": odin.temperature},
                              classifier.name)
    if name not in FEATURE_DETECTORS:
        raise EvofoolError(f"unknown detector {name!r} (known: {', '.join(DETECTORS)})")
    features = require_features(fit, name, classifier.name)
    if name == "mahalanobis":
        detector, settings = library.Mahalanobis(None), {}
    elif name == "knn":
        detector, settings = library.KNN(None, k=KNN_NEIGHBOURS), {"k": KNN_NEIGHBOURS}
    else:
        head = network_head(classifier)
        dimensions = features.shape[1] // 2  # principal subspace: half the feature width
        detector = library.ViM(None, d=dimensions, w=head.weight.detach(),
                               b=head.bias.detach())
        settings = {"d": dimensions}
    detector.fit_features(features, fit_labels)
    return FittedDetector(name, detector, settings, classifier.name)
