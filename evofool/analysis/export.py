"""Fooling images out of runs into datasets other tools load: ImageFolder trees, .pt, .npz.

Every export writes ``manifest.csv`` (one row per image, in the data's
order) so each image can be traced to its run, class, confidence and genome.
The export is built in a hidden sibling directory and renamed into place,
so an interrupted export leaves nothing half-written (and a failed one removes
its hidden directory); what ``--out`` may hold and replace is
evofool.analysis.export_destination's to say.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from evofool.analysis.export_destination import (
    MANIFEST,
    MANIFEST_FIELDS,
    OPENOOD_LIST,
    check_output,
    claimed,
    move_into_place,
    output_dir,
)
from evofool.archive.confidence import FOOLED_THRESHOLD
from evofool.errors import EvofoolError
from evofool.files.images import png_bytes, to_uint8
from evofool.run.outputs import safe_name
from evofool.run.stored import StoredRun, classes_agree
from evofool.store import Champion
from evofool.store.retrain_layout import expand_run_dirs

Format = Literal["imagefolder", "openood", "pt", "npz"]
FORMATS = ("imagefolder", "openood", "pt", "npz")
PNG_FORMATS = ("imagefolder", "openood")  # one PNG per image in <index>-<name>/ folders


@dataclass(frozen=True)
class ExportRequest:
    """What to export. ``classes`` holds indices or names; None keeps every class."""

    run_dirs: Sequence[Path]
    out: Path
    format: Format
    min_confidence: float = FOOLED_THRESHOLD
    classes: Sequence[str] | None = None
    rounds: Sequence[int] | None = None
    include_history: bool = False
    overwrite: bool = False
    labels: Literal["ood", "fooled"] = "ood"  # openood: -1 for every image, or its fooled class


def export(request: ExportRequest) -> int:
    """Write the dataset ``request`` describes; returns the number of images.

    Raises:
        EvofoolError: a bad run directory, an unknown class, mixed image sizes or
            class lists, an occupied output directory, or nothing to export.
    """
    out = output_dir(request.out)
    check_output(out, request.overwrite)
    expanded = expand_run_dirs(request.run_dirs, request.rounds)
    _refuse_repeats([run_dir for run_dir, _ in expanded])
    with claimed(out, request.overwrite):
        return _export_into(out, request, expanded)


def _export_into(out: Path, request: ExportRequest,
                 expanded: list[tuple[Path, str | None]]) -> int:
    runs = [StoredRun(run_dir, label=label) for run_dir, label in expanded]
    try:
        class_names = _shared_class_names(runs)
        selected = [(run, run.select(min_confidence=request.min_confidence,
                                        include_history=request.include_history,
                                        classes=request.classes)) for run in runs]
        total = sum(len(images) for _, images in selected)
        if total == 0:
            raise EvofoolError(
                f"nothing to export: no image at confidence >= {request.min_confidence} "
                f"in {', '.join(run.label for run in runs)}; nothing was written")
        shapes = {run.image_shape for run, images in selected if images}
        if len(shapes) > 1:
            raise EvofoolError(f"runs draw images of different shapes {sorted(shapes)}; "
                               "export them separately")
        partial = out.parent / f".{out.name}.partial-{os.getpid()}"
        try:
            partial.mkdir(parents=True)
            _write(partial, request, selected, class_names)
            move_into_place(partial, out)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    finally:
        for run in runs:
            run.close()
    return total


def _refuse_repeats(run_dirs: list[Path]) -> None:
    """One run given twice (or through a retrain directory and its round) would export
    every image twice."""
    seen: dict[Path, Path] = {}
    for run_dir in run_dirs:
        resolved = Path(run_dir).resolve()
        if resolved in seen:
            raise EvofoolError(f"{run_dir} is given twice (also as {seen[resolved]}); "
                               "export each run once; nothing was written")
        seen[resolved] = run_dir


def _shared_class_names(runs: list[StoredRun]) -> tuple[str, ...]:
    """The longest class list; others must agree with it where they overlap.

    Rounds of the n+1 experiment differ by the trailing garbage class only.
    """
    longest = max((run.class_names for run in runs), key=len)
    for run in runs:
        if not classes_agree(run.class_names, longest):
            raise EvofoolError(f"{run.label} has other classes than "
                               f"{next(r.label for r in runs if r.class_names == longest)}; "
                               "export runs of different models separately")
    return longest


def _write(out: Path, request: ExportRequest,
           selected: list[tuple[StoredRun, list[Champion]]],
           class_names: tuple[str, ...]) -> None:
    format = request.format
    rows, pixels, labels = [], [], []
    for run_number, (run, images) in enumerate(selected):
        if not images:
            continue
        rendered = to_uint8(run.render([image.genome_id for image in images]))  # N, H, W, C
        for image, array in zip(images, rendered, strict=True):
            file = _write_png(out, run_number, run.label, image, class_names, array) \
                if format in PNG_FORMATS else f"fooling.{format}"
            rows.append({"index": len(rows), "file": file, "run": run.label,
                         "class": image.class_index,
                         "class_name": run.class_names[image.class_index],
                         "confidence": f"{image.confidence:.9f}",
                         "generation": image.generation, "genome_id": image.genome_id,
                         "model": run.model, "encoding": run.config.encoding.type})
        if format not in PNG_FORMATS:  # otherwise the pixels are in the PNGs
            pixels.append(rendered.transpose(0, 3, 1, 2))
            labels += [image.class_index for image in images]
    if format == "openood":
        (out / OPENOOD_LIST).write_text("".join(
            f"{row['file']} {row['class'] if request.labels == 'fooled' else -1}\n"
            for row in rows))
    elif format != "imagefolder":
        images_array = np.ascontiguousarray(np.concatenate(pixels))
        labels_array = np.asarray(labels, dtype=np.int64)
        if format == "pt":
            torch.save({"images": torch.from_numpy(images_array),
                        "labels": torch.from_numpy(labels_array),
                        "class_names": list(class_names)}, out / "fooling.pt")
        else:
            np.savez_compressed(out / "fooling.npz", images=images_array, labels=labels_array,
                                class_names=np.asarray(class_names))
    with open(out / MANIFEST, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def _write_png(out: Path, run_number: int, run_label: str, image: Champion,
               class_names: tuple[str, ...], pixels: np.ndarray) -> str:
    """One PNG under ``<index>-<name>/``: zero-padded so ImageFolder's sorted order is the index.

    The name starts with the run's position in the export: the run's label, reduced to
    file-name characters, only reads well (``cppn-a`` and ``cppn_a`` reduce alike), and
    (position, class, genome id) is unique by construction.
    """
    folder = f"{image.class_index:04d}-{safe_name(class_names[image.class_index])}"
    name = f"r{run_number:03d}-{safe_name(run_label)}-g{image.genome_id}.png"
    (out / folder).mkdir(exist_ok=True)
    path = out / folder / name
    if path.exists():  # cannot happen by construction; never overwrite an image silently
        raise EvofoolError(f"export would write {folder}/{name} twice; nothing was written")
    path.write_bytes(png_bytes(pixels))
    return f"{folder}/{name}"


