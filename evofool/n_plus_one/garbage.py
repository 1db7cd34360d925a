"""The garbage class: which fooling images join it, and how training sees it."""

from __future__ import annotations

import numpy as np
import torch

from evofool.files.images import to_uint8
from evofool.n_plus_one.config import GarbageSettings
from evofool.n_plus_one.store import GarbageImage
from evofool.run.stored import StoredRun
from evofool.store import Champion
from evofool.training.fitting import as_unit_floats, predict


def collect_garbage(run: StoredRun, champions: list[Champion],
                    history: list[Champion], *, round_index: int,
                    settings: GarbageSettings) -> list[GarbageImage]:
    """A round's contribution to the garbage set, at most ``settings.per_round`` images.

    ``champions`` and ``history`` are the run's records for the natural
    classes (the garbage class has no cell). Champions at the threshold come
    first (one per fooled class), then, with ``include_history``, the run's
    earlier champions by confidence. Each genome joins once, however many
    classes it fooled.
    """
    def fooling(images: list[Champion]) -> list[Champion]:
        return [image for image in images if image.confidence >= settings.threshold]

    candidates = fooling(champions)
    if settings.include_history:
        candidates += sorted(fooling(history), key=lambda image: -image.confidence)
    chosen: dict[int, Champion] = {}
    for image in candidates:
        if len(chosen) == settings.per_round:
            break
        chosen.setdefault(image.genome_id, image)
    images = list(chosen.values())
    pixels = to_uint8(run.render([image.genome_id for image in images])).transpose(0, 3, 1, 2)
    return [GarbageImage(round=round_index, run=run.label, class_index=image.class_index,
                         confidence=image.confidence, generation=image.generation,
                         genome_id=image.genome_id, pixels=array)
            for image, array in zip(images, pixels, strict=True)]


def balanced_epoch(natural_count: int, garbage_count: int, natural_classes: int):
    """A function drawing one epoch's rows: every natural row once, and the garbage rows
    (stored after the natural ones) resampled to the size of an average natural class.

    Each garbage image appears ``target // G`` times, plus a random ``target % G``
    of them once more, so a small garbage set is repeated evenly rather than
    by chance.
    """
    target = round(natural_count / natural_classes)

    def draw(generator: torch.Generator) -> torch.Tensor:
        natural = torch.arange(natural_count)
        if garbage_count == 0:
            return natural
        repeats, remainder = divmod(target, garbage_count)
        garbage = torch.cat([torch.arange(garbage_count).repeat(repeats),
                             torch.randperm(garbage_count, generator=generator)[:remainder]])
        return torch.cat([natural, natural_count + garbage])

    return draw


def natural_fooling(run: StoredRun, natural_classes: int) -> tuple[list[Champion],
                                                                 list[Champion]]:
    """A round's run's champions and kept history of the natural classes (the garbage
    class has no cell): what its garbage, or held-out set, is picked from."""
    return ([c for c in run.champions() if c.class_index < natural_classes],
            [h for h in run.history() if h.class_index < natural_classes])


def garbage_share(classifier, pixels: np.ndarray, garbage_class: int) -> float | None:
    """The share of uint8 ``pixels`` the classifier calls ``garbage_class``; None for none."""
    if not len(pixels):
        return None
    return float((predict(classifier, as_unit_floats(pixels)) == garbage_class)
                 .float().mean())
