"""How fooling images fare under input defences, and what each defence costs natural images.

Per defence (and undefended, as the baseline) and per fooling set: the share of
images still labelled their fooled class at >= 0.99 and >= 0.5 and their median
confidence in it; per defence, the accuracy left on natural test images (a
defence that stops fooling images by ruining accuracy is no defence). With
``detect``, feature squeezing as a detector (Xu, Evans & Qi, 2018): an image's
score is the largest L1 change of its prediction under the defences, scored
with the same AUROC / FPR at 95 % TPR as ``evofool ood``.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from evofool.archive.confidence import FOOLED_SHARE_KEY, FOOLED_THRESHOLD
from evofool.defenses.base import DefenseSettings
from evofool.defenses.chain import image_keys
from evofool.errors import EvofoolError
from evofool.evaluation.scorer import ImageScorer
from evofool.files.atomic import write_atomically
from evofool.models import Classifier
from evofool.run.image_sets import ImageSet

NONE = "none"
COLUMNS = ("defense", "fooling_set", "images", FOOLED_SHARE_KEY, "share_at_0.5",
           "median_confidence", "clean_accuracy")


@dataclass
class DefenseReport:
    """One row per (defence, fooling set); detection rows with ``detect``."""

    model: str
    in_distribution: dict[str, Any] | None
    sets: dict[str, int]
    defenses: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    detection: list[dict[str, Any]] = field(default_factory=list)

    def row(self, defense: str, fooling_set: str) -> dict[str, Any]:
        return next(row for row in self.rows
                    if row["defense"] == defense and row["fooling_set"] == fooling_set)


def defend(classifier: Classifier, *, fooling_sets: Sequence[ImageSet], natural: ImageSet | None,
           defenses: Sequence[DefenseSettings], detect: bool = False, max_batch: int = 256,
           say: Callable[[str], None] = lambda message: None) -> DefenseReport:
    """Score every fooling set and ``natural`` undefended and under each of ``defenses``.

    Random defences draw from keys fixed by each image's place in its set, so a
    report is the same every time it is made. Without ``natural`` images there is no
    clean accuracy and no detection; without their labels, no clean accuracy.

    Raises:
        EvofoolError: a fooling set without its fooled classes.
    """
    for image_set in fooling_sets:
        if image_set.labels is None:
            raise EvofoolError(f"{image_set.name}: its images do not say which class they "
                               "fool (an export written with labels, or a run)")
    report = DefenseReport(
        model=classifier.name,
        in_distribution=None if natural is None else {
            "set": natural.name, "images": len(natural), "labels": natural.labels is not None},
        sets={image_set.name: len(image_set) for image_set in fooling_sets},
        defenses=[NONE, *(item.label() for item in defenses)])
    natural_scores, fooling_scores = {}, {}
    for chain, label in [([], NONE), *(([item], item.label()) for item in defenses)]:
        say(f"scoring under {label}")
        scorer = ImageScorer(classifier, device="cpu", engine="torch", max_batch=max_batch,
                             defenses=chain)
        fooling_scores[label] = [_scores(scorer, image_set) for image_set in fooling_sets]
        accuracy = None
        if natural is not None:
            natural_scores[label] = _scores(scorer, natural)
            if natural.labels is not None:
                accuracy = round(float(
                    (natural_scores[label].argmax(1) == natural.labels).float().mean()), 4)
        report.rows += [_fooling_row(label, image_set, scores, accuracy) for image_set, scores
                        in zip(fooling_sets, fooling_scores[label], strict=True)]
    if detect and defenses and natural is not None:
        from evofool.analysis.ood_report import detection_metrics  # needs evofool[ood]

        natural_change = _largest_change(natural_scores)
        for index, image_set in enumerate(fooling_sets):
            change = _largest_change({label: scores[index]
                                      for label, scores in fooling_scores.items()})
            report.detection.append({"detector": "feature_squeezing",
                                     "fooling_set": image_set.name,
                                     **detection_metrics(natural_change, change,
                                                         ("AUROC", "FPR95TPR"))})
    return report


def _scores(scorer: ImageScorer, image_set: ImageSet) -> torch.Tensor:
    images = image_set.images.float() / 255
    return scorer.score(images, image_keys(0, 0, len(images))).cpu()


def _fooling_row(label: str, image_set: ImageSet, scores: torch.Tensor,
                 accuracy: float | None) -> dict[str, Any]:
    confidence = scores.gather(1, image_set.labels.view(-1, 1)).squeeze(1)
    return {"defense": label, "fooling_set": image_set.name, "images": len(image_set),
            FOOLED_SHARE_KEY: round(float((confidence >= FOOLED_THRESHOLD).float().mean()), 4),
            "share_at_0.5": round(float((confidence >= 0.5).float().mean()), 4),
            "median_confidence": statistics.median(confidence.tolist()),
            "clean_accuracy": accuracy}


def _largest_change(scores: dict[str, torch.Tensor]) -> torch.Tensor:
    """(N,) each image's largest L1 change of prediction under any defence: the feature
    squeezing score (larger: more likely an adversarial, or here a fooling, image)."""
    return torch.stack([(defended - scores[NONE]).abs().sum(1)
                        for label, defended in scores.items() if label != NONE]).amax(0)


def write_report(report: DefenseReport, out: Path) -> None:
    """``defend.csv``, ``defend.json`` and the ``defend.png`` figure in ``out``."""
    from evofool.analysis.figure_style import to_png  # matplotlib: only when drawing

    out.mkdir(parents=True, exist_ok=True)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(report.rows)
    write_atomically(out / "defend.csv", table.getvalue())
    write_atomically(out / "defend.json", json.dumps(asdict(report), indent=2))
    write_atomically(out / "defend.png", to_png(defense_bars(report)))


def defense_bars(report: DefenseReport) -> Any:
    """Per defence: the share of each fooling set still fooled (left) and the sets'
    median confidence on the logit axis (right); each defence's clean accuracy under its
    name, since a defence that stops fooling images by ruining accuracy is no defence."""
    from matplotlib.figure import Figure  # matplotlib: only when drawing

    from evofool.analysis.figure_style import confidence_axis, on_confidence_axis

    sets, defenses = list(report.sets), report.defenses
    accuracy = {row["defense"]: row["clean_accuracy"] for row in report.rows}
    names = [defense.replace(":", "\n").replace(",", "\n") + (
        "" if accuracy[defense] is None else f"\nclean acc. {accuracy[defense]:.3f}")
        for defense in defenses]
    figure = Figure(figsize=(min(4 + 1.8 * len(defenses), 30), 5.6), layout="constrained")
    shares, medians = figure.subplots(1, 2)
    width = 0.8 / len(sets)
    for index, name in enumerate(sets):
        offsets = [position + (index - (len(sets) - 1) / 2) * width
                   for position in range(len(defenses))]
        rows = [report.row(defense, name) for defense in defenses]
        label = textwrap.shorten(Path(name).name or name, 30)
        bars = shares.bar(offsets, [row[FOOLED_SHARE_KEY] for row in rows], width, label=label)
        shares.bar_label(bars, fmt="%.2f", fontsize=7)
        medians.plot(range(len(defenses)),
                     on_confidence_axis([row["median_confidence"] for row in rows]),
                     marker="o", label=label)
    shares.set_ylim(0, 1.08)
    shares.set_ylabel(f"share of fooling images still ≥ {FOOLED_THRESHOLD:g}")
    shares.set_title(f"Fooling images under input defences ({report.model})")
    confidence_axis(medians)
    medians.set_ylabel("median confidence in the fooled class (logit scale)")
    medians.set_title("How far each defence pulls them down")
    for axis in (shares, medians):
        axis.set_xticks(range(len(defenses)), names, fontsize=7)
    shares.legend(fontsize=7, loc="upper right")
    return figure
