"""Held-out fooling images: what the n+1 experiment measures on images no model trained on.

A round's held-out images come from an independent run against the same model
(evofool.n_plus_one.experiment starts it), picked as the garbage set is picked,
and are never added to training. The next round's model says how many of them
it calls garbage, and OOD detectors (evofool ood) are scored on each round's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from evofool.data import LabelledImages
from evofool.models import Classifier
from evofool.n_plus_one.config import GarbageSettings, HeldOutSettings
from evofool.n_plus_one.garbage import collect_garbage, garbage_share, natural_fooling
from evofool.run.stored import StoredRun


def held_out_images(run_dir: Path, round_index: int, natural_classes: int,
                    garbage: GarbageSettings, shape: tuple[int, int, int]) -> np.ndarray:
    """uint8 (N, C, H, W): the held-out run's fooling images, picked as garbage is."""
    run = StoredRun(run_dir, label=f"round-{round_index:02d}-held-out")
    try:
        picked = collect_garbage(run, *natural_fooling(run, natural_classes),
                                 round_index=round_index, settings=garbage)
    finally:
        run.close()
    if not picked:
        return np.zeros((0, *shape), dtype=np.uint8)
    return np.stack([image.pixels for image in picked])


def measure_held_out(classifier: Classifier, held_out: np.ndarray, previous: np.ndarray, *,
                     garbage_class: int, settings: HeldOutSettings,
                     natural: LabelledImages) -> dict[str, Any]:
    """A round's held-out measures, as RoundRecord fields: how many images it holds, the
    share of last round's (``previous``) this model calls garbage, and the detectors'
    AUROC on this round's against the ``natural`` test images (feature detectors fit on
    its first ``settings.fit_images`` training images)."""
    measures: dict[str, Any] = {"held_out_images": len(held_out),
                                "held_out_garbage_share": garbage_share(classifier, previous,
                                                                        garbage_class)}
    if settings.detectors and len(held_out):
        from evofool.analysis.ood_report import evaluate  # pytorch-ood: the ood extra
        from evofool.run.image_sets import ImageSet

        def image_set(name: str, images: np.ndarray, labels: np.ndarray | None = None):
            return ImageSet(name, torch.from_numpy(np.ascontiguousarray(images)),
                            None if labels is None else torch.from_numpy(labels))

        fit = settings.fit_images
        report = evaluate(
            classifier, in_distribution=image_set("natural-test", natural.test_images,
                                                  natural.test_labels),
            ood_sets=[image_set("held-out", held_out)], detectors=settings.detectors,
            fit_set=image_set("natural-train", natural.train_images[:fit],
                              natural.train_labels[:fit]))
        measures["held_out_auroc"] = {detector: report.auroc(detector, "held-out")
                                      for detector in settings.detectors}
    return measures
