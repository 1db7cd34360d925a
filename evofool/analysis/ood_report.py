"""Score detectors on OOD sets against natural test images: AUROC, AUPR, FPR at 95 % TPR.

In-distribution images are the positives a detector should keep (labels >= 0),
each OOD set the negatives it should flag (label -1, pytorch-ood's convention);
pytorch-ood's OODMetrics computes the numbers.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from evofool.files.atomic import write_atomically
from evofool.models import Classifier
from evofool.ood.detectors import (
    FEATURE_DETECTORS,
    fit_detector,
    fit_representations,
    pytorch_ood,
)
from evofool.ood.representations import represent
from evofool.run.image_sets import ImageSet

METRICS = ("AUROC", "AUPR-IN", "AUPR-OUT", "FPR95TPR")


@dataclass
class OodReport:
    """One row per (detector, OOD set), plus what the numbers rest on."""

    model: str
    in_distribution: dict[str, Any]
    fit_on: dict[str, Any] | None
    sets: dict[str, int]
    detector_settings: dict[str, dict] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def auroc(self, detector: str, ood_set: str) -> float:
        return next(row["AUROC"] for row in self.rows
                    if row["detector"] == detector and row["ood_set"] == ood_set)


def evaluate(classifier: Classifier, *, in_distribution: ImageSet, ood_sets: list[ImageSet],
             detectors: list[str], fit_set: ImageSet | None,
             say: Callable[[str], None] = lambda message: None) -> OodReport:
    """Every detector on every OOD set against ``in_distribution``; ``say`` hears each
    step (a long one on a CPU: the network's features of tens of thousands of images)."""
    needs_fit = any(name in FEATURE_DETECTORS for name in detectors)
    fit = fit_labels = None
    if needs_fit and fit_set:
        say(f"features of {len(fit_set):,} images of {fit_set.name} to fit on")
        fit, fit_labels = fit_representations(classifier, fit_set.images, fit_set.labels)
    report = OodReport(
        model=classifier.name,
        in_distribution={"set": in_distribution.name, "images": len(in_distribution)},
        fit_on=None if fit is None else {
            "set": fit_set.name, "images": len(fit_set),
            "labels": "given" if fit_set.labels is not None else "model predictions"},
        sets={image_set.name: len(image_set) for image_set in ood_sets})
    say(f"features of {len(in_distribution):,} images of {in_distribution.name}")
    natural = represent(classifier, in_distribution.images)
    others = []
    for image_set in ood_sets:
        say(f"features of {len(image_set):,} images of {image_set.name}")
        others.append((image_set, represent(classifier, image_set.images)))
    for name in detectors:
        say(f"fitting and scoring {name}")
        detector = fit_detector(name, classifier, fit, fit_labels)
        report.detector_settings[name] = detector.settings
        natural_scores = detector.score(natural, in_distribution.images)
        for image_set, representations in others:
            scores = detector.score(representations, image_set.images)
            report.rows.append({"detector": name, "ood_set": image_set.name,
                                **detection_metrics(natural_scores, scores)})
    return report


def detection_metrics(natural: torch.Tensor, ood: torch.Tensor,
                      keys: tuple[str, ...] = METRICS) -> dict[str, float]:
    """pytorch-ood's ``keys`` (of METRICS) for outlier scores of natural images, the ones to
    keep, against those of OOD images, the ones to flag."""
    metrics = pytorch_ood().metrics.OODMetrics()
    metrics.update(torch.cat([natural, ood]).cpu(),
                   torch.cat([torch.zeros(len(natural), dtype=torch.long),
                              torch.full((len(ood),), -1, dtype=torch.long)]))
    values = metrics.compute()
    return {key: round(float(values[key]), 4) for key in keys}


def write_report(report: OodReport, out: Path) -> None:
    """``ood.csv``, ``ood.json`` and the ``ood.png`` AUROC heatmap in ``out``."""
    from evofool.analysis.figure_style import to_png  # matplotlib: only when drawing

    out.mkdir(parents=True, exist_ok=True)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=["detector", "ood_set", *METRICS])
    writer.writeheader()
    writer.writerows(report.rows)
    write_atomically(out / "ood.csv", table.getvalue())
    write_atomically(out / "ood.json", json.dumps(asdict(report), indent=2))
    detectors = list(dict.fromkeys(row["detector"] for row in report.rows))
    write_atomically(out / "ood.png", to_png(ood_heatmap(
        detectors, list(report.sets), [[report.auroc(detector, name) for name in report.sets]
                                       for detector in detectors], report.model)))


def ood_heatmap(detectors: list[str], ood_sets: list[str], auroc: list[list[float]],
                model: str) -> Any:
    """AUROC of each detector (row) on each OOD set (column); 0.5 is chance."""
    from matplotlib.figure import Figure  # matplotlib: only when drawing

    figure = Figure(figsize=(min(3 + 1.6 * len(ood_sets), 24), 1.5 + 0.45 * len(detectors)),
                    layout="constrained")
    axis = figure.subplots()
    shown = axis.imshow(auroc, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
    axis.set_yticks(range(len(detectors)), detectors)
    axis.set_xticks(range(len(ood_sets)),
                    [textwrap.fill(Path(name).name or name, 18) for name in ood_sets])
    for row, values in enumerate(auroc):
        for column, value in enumerate(values):
            axis.text(column, row, f"{value:.3f}", ha="center", va="center", fontsize=9)
    axis.set_title(f"OOD detection AUROC on {model} (1 = every OOD image flagged, 0.5 = chance)")
    figure.colorbar(shown, ax=axis, fraction=0.03)
    return figure
