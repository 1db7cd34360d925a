"""Held-out fooling images: what the n+1 experiment measures on images no model trained on.

A round's held-out images come from an independent run against the same model
(evofool.retrain.experiment starts it), picked as the garbage set is picked,
and are never added to training. The next round's model says how many of them
it calls garbage, and OOD detectors (evofool ood) are scored on each round's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from evofool.models import Classifier
from evofool.models.lenet import MNIST_INPUT_SPEC
from evofool.retrain.config import GarbageSettings, HeldOutSettings
from evofool.retrain.garbage import collect_garbage, garbage_share, natural_fooling
from evofool.run.stored import StoredRun


def held_out_images(run_dir: Path, round_index: int, natural_classes: int,
                    garbage: GarbageSettings) -> np.ndarray:
    """uint8 (N, C, H, W): the held-out run's fooling images, picked as garbage is."""
    run = StoredRun(run_dir, label=f"round-{round_index:02d}-held-out")
    try:
        picked = collect_garbage(run, *natural_fooling(run, natural_classes),
                                 round_index=round_index, settings=garbage)
    finally:
        run.close()
    if not picked:
        return np.zeros((0, *MNIST_INPUT_SPEC.shape), dtype=np.uint8)
    return np.stack([image.pixels for image in picked])


def measure_held_out(classifier: Classifier, held_out: np.ndarray, previous: np.ndarray, *,
                     garbage_class: int, settings: HeldOutSettings) -> dict[str, Any]:
    """A round's held-out measures, as RoundRecord fields: how many images it holds, the
    share of last round's (``previous``) this model calls garbage, and the detectors'
    AUROC on this round's against the MNIST test digits."""
    measures: dict[str, Any] = {"held_out_images": len(held_out),
                                "held_out_garbage_share": garbage_share(classifier, previous,
                                                                        garbage_class)}
    if settings.detectors and len(held_out):
        from evofool.analysis.ood_report import evaluate  # pytorch-ood: the ood extra
        from evofool.run.image_sets import ImageSet, load_image_set

        shape = MNIST_INPUT_SPEC.shape
        report = evaluate(
            classifier, in_distribution=load_image_set("mnist-test", shape=shape),
            ood_sets=[ImageSet("held-out", torch.from_numpy(held_out))],
            detectors=settings.detectors,
            fit_set=load_image_set("mnist-train", shape=shape, limit=settings.fit_images))
        measures["held_out_auroc"] = {detector: report.auroc(detector, "held-out")
                                      for detector in settings.detectors}
    return measures
