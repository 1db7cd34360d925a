"""Replacing a file in one step, so no reader ever sees it half written.

The browser reads run directories while runs write them, and a run killed
mid-write must leave the previous version intact: every result file is
written beside its target and renamed over it. Files a resume or a reader
relies on after a power cut (checkpoints, results) are also synced to disk
before the rename, and the rename after it (``durable``); files that are
redrawn from the store anyway (champion PNGs) skip the cost.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def replaced_atomically(path: Path, *, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary stream whose content replaces ``path`` when the block ends without
    error; on an error the partial file is removed and ``path`` is untouched."""
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "wb") as stream:
            yield stream
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_directory(path.parent)


def write_atomically(path: Path, data: str | bytes, *, durable: bool = True) -> None:
    """Write ``data`` (text as UTF-8, without newline translation, or bytes) to ``path``."""
    with replaced_atomically(path, durable=durable) as stream:
        stream.write(data.encode() if isinstance(data, str) else data)


def write_once(path: Path, data: str) -> str:
    """Create ``path`` holding ``data`` unless it exists, in one step, and return what it
    holds: the first writer's ``data`` wins, so processes that raced to decide one thing
    (an engine verdict) all go on with the same decision, and none overwrites another's."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(data, encoding="utf-8")
    try:
        os.link(partial, path)  # fails where the path exists: the first link wins
    except FileExistsError:
        pass
    finally:
        partial.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8")


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
