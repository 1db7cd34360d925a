"""Where an export may write: ``--out`` claimed for the export's whole life, and what
stands there checked once claimed and replaced only when the new export is whole.

An export holds the writer lock every run and experiment takes (store/writer_lock.py)
from its start until it stands, so a second export, or a run started into the same
directory meanwhile, is refused instead of replaced; ``--overwrite`` replaces only an
earlier export, a directory holding exactly the files its manifest lists.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from evofool.errors import EvofoolError, first_line, quoted
from evofool.store import is_run_dir
from evofool.store.retrain_layout import is_retrain_dir
from evofool.store.writer_lock import LOCK_FILE, RunBusyError, WriterLock, holds_files

MANIFEST = "manifest.csv"
OPENOOD_LIST = "openood.txt"  # OpenOOD's image list: "relative/path.png label" per line
MANIFEST_FIELDS = ("index", "file", "run", "class", "class_name", "confidence", "generation",
                   "genome_id", "model", "encoding")


def output_dir(out: Path) -> Path:
    """``out`` as an absolute path with a name (``.`` is the current directory's name), so
    that the hidden sibling the export is built in lies beside it."""
    if str(out) == "":
        raise EvofoolError("--out is empty; name the directory to export into")
    resolved = Path(os.path.abspath(out))
    if resolved.name == "":
        raise EvofoolError(f"--out {out} is the file system's root; export into a directory")
    return resolved


@contextlib.contextmanager
def claimed(out: Path, overwrite: bool) -> Iterator[None]:
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
        check_output(out, overwrite)
        yield
        finished = True
    finally:
        lock.release()
        with contextlib.suppress(OSError):
            if not lock_was_there:
                (out / LOCK_FILE).unlink(missing_ok=True)  # (gone with a replaced directory)
            if created and not finished:
                out.rmdir()


def check_output(out: Path, overwrite: bool) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise EvofoolError(f"--out {out} exists and is not a directory")
    if not holds_files(out):
        return
    if not overwrite:
        raise EvofoolError(f"--out {out} is not empty; pass --overwrite to replace an "
                           "earlier export there")
    strangers = files_not_exported(out)
    if strangers:
        raise EvofoolError(f"--overwrite replaces only an earlier evofool export, and {out} "
                           f"is not one: {strangers}; choose another --out")


def files_not_exported(out: Path) -> str | None:
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


def move_into_place(partial: Path, out: Path) -> None:
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
