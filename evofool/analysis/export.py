"""Fooling images out of runs into datasets other tools load: ImageFolder trees, .pt, .npz.

Every export writes ``manifest.csv`` (one row per image, in the data's
order) so each image can be traced to its run, class, confidence and genome.
The export is built in a hidden sibling directory and renamed into place,
so an interrupted export leaves nothing half-written (and a failed one removes
its hidden directory), and ``--overwrite`` replaces only a previous export: a
directory holding exactly the files its manifest lists, never a run, an
experiment or a file the export did not write. ``--out`` is claimed when the
export starts with the writer lock every run and experiment takes
(store/writer_lock.py), and held until the export stands: a second export, or a
run started into the same directory meanwhile, is refused instead of replaced.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from evofool.archive.confidence import FOOLED_THRESHOLD
from evofool.errors import EvofoolError, first_line, quoted
from evofool.files.images import png_bytes, to_uint8
from evofool.run.outputs import safe_name
from evofool.run.stored import StoredRun, classes_agree
from evofool.store import Champion, is_run_dir
from evofool.store.retrain_layout import expand_run_dirs, is_retrain_dir
from evofool.store.writer_lock import LOCK_FILE, RunBusyError, WriterLock, holds_files

Format = Literal["imagefolder", "openood", "pt", "npz"]
FORMATS = ("imagefolder", "openood", "pt", "npz")
PNG_FORMATS = ("imagefolder", "openood")  # one PNG per image in <index>-<name>/ folders
MANIFEST = "manifest.csv"
OPENOOD_LIST = "openood.txt"  # OpenOOD's image list: "relative/path.png label" per line
MANIFEST_FIELDS = ("index", "file", "run", "class", "class_name", "confidence", "generation",
                   "genome_id", "model", "encoding")


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
    out = _output_dir(request.out)
    _check_output(out, request.overwrite)
    expanded = expand_run_dirs(request.run_dirs, request.rounds)
    _refuse_repeats([run_dir for run_dir, _ in expanded])
    with _claimed(out, request.overwrite):
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
            _move_into_place(partial, out)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    finally:
        for run in runs:
            run.close()
    return total


def _output_dir(out: Path) -> Path:
    """``out`` as an absolute path with a name (``.`` is the current directory's name), so
    that the hidden sibling the export is built in lies beside it."""
    if str(out) == "":
        raise EvofoolError("--out is empty; name the directory to export into")
    resolved = Path(os.path.abspath(out))
    if resolved.name == "":
        raise EvofoolError(f"--out {out} is the file system's root; export into a directory")
    return resolved


@contextlib.contextmanager
def _claimed(out: Path, overwrite: bool) -> Iterator[None]:
    """Hold ``out``'s writer lock for the export (making ``out`` if it is new), checked
    again once held: what stands there then is what the export may replace. A failed
    export leaves ``out`` as it found it (a directory it made is removed again)."""
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock_was_there = (out / LOCK_FILE).exists()
        lock = WriterLock.acquire(out)
    except RunBusyError as error:
        raise EvofoolError(f"--out {out} is being written by another process; nothing was "
                           f"written ({first_line(error)})") from None
    except OSError as error:
        raise EvofoolError(f"cannot create --out {out}: {error.strerror or error}") from error
    finished = False
    try:
        _check_output(out, overwrite)
        yield
        finished = True
    finally:
        lock.release()
        with contextlib.suppress(OSError):
            if not lock_was_there:
                (out / LOCK_FILE).unlink(missing_ok=True)  # (gone with a replaced directory)
            if created and not finished:
                out.rmdir()


def _check_output(out: Path, overwrite: bool) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise EvofoolError(f"--out {out} exists and is not a directory")
    if not holds_files(out):
        return
    if not overwrite:
        raise EvofoolError(f"--out {out} is not empty; pass --overwrite to replace an "
                           "earlier export there")
    strangers = _files_not_exported(out)
    if strangers:
        raise EvofoolError(f"--overwrite replaces only an earlier evofool export, and {out} "
                           f"is not one: {strangers}; choose another --out")


def _files_not_exported(out: Path) -> str | None:
    """Why ``out`` is not exactly an earlier export (its manifest lists what it wrote),
    for a message; None when it is."""
    if is_run_dir(out) or is_retrain_dir(out):
        return "it is a run or an n+1 experiment"
    try:
        with open(out / MANIFEST, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != MANIFEST_FIELDS:
                return f"its {MANIFEST} is not an export's"
            files = {row["file"] for row in reader}
    except FileNotFoundError:
        return f"it has no {MANIFEST}"
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return f"its {MANIFEST} is unreadable ({type(error).__name__})"
    folders = {file.split("/")[0] for file in files if file.count("/") == 1}
    written = {MANIFEST, OPENOOD_LIST, LOCK_FILE} | files | folders
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out).as_posix()
        if relative not in written or path.is_symlink() or (
                path.is_dir() != (relative in folders)):
            return f"it holds {quoted(relative)}, which no export there wrote"
    return None


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


def _move_into_place(partial: Path, out: Path) -> None:
    """Rename the finished export into place; what stood there (empty, or an earlier export
    checked to hold only its own files, and unchanged since: this export holds its writer
    lock) is moved aside first and removed once the new one stands."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    try:
        os.replace(partial, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old)
