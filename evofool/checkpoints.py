"""Checkpoints: everything a run needs to continue exactly, written so a crash cannot corrupt them.

A checkpoint is written to a temporary file, flushed and fsynced, then
renamed over its final name (and the directory fsynced), so at any instant
each checkpoint file is either complete or absent. The last ``keep`` are
kept; loading falls back from a damaged newest checkpoint to the one before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from evofool.atomic_files import replaced_atomically
from evofool.errors import EvofoolError
from evofool.run_layout import CHECKPOINT_DIR

FORMAT = "evofool-checkpoint"
VERSION = 1


class CheckpointError(EvofoolError):
    """A checkpoint that cannot be written, or no usable checkpoint to resume from."""


def checkpoint_paths(run_dir: Path) -> list[Path]:
    """Existing checkpoints, oldest first."""
    return sorted((run_dir / CHECKPOINT_DIR).glob("ckpt-*.pt"))


def write_checkpoint(run_dir: Path, state: dict[str, Any], *, generation: int,
                     keep: int) -> Path:
    """Write ``state`` atomically as the checkpoint of ``generation``; prune old ones.

    Raises:
        CheckpointError: the file could not be written (disk full, permissions);
            the earlier checkpoints are untouched.
    """
    directory = run_dir / CHECKPOINT_DIR
    path = directory / f"ckpt-{generation:09d}.pt"
    try:
        directory.mkdir(exist_ok=True)
        with replaced_atomically(path) as stream:
            torch.save({"format": FORMAT, "version": VERSION, **state}, stream)
    except OSError as error:
        raise CheckpointError(
            f"cannot write checkpoint {path}: {error.strerror or error}; earlier checkpoints "
            "are intact") from error
    for old in checkpoint_paths(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(run_dir: Path) -> tuple[dict[str, Any], Path, list[str]]:
    """The newest readable checkpoint, its path, and a note for each newer one skipped.

    Raises:
        CheckpointError: no checkpoint can be read.
    """
    skipped = []
    for path in reversed(checkpoint_paths(run_dir)):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if state.get("format") != FORMAT or state.get("version") != VERSION:
                raise ValueError("not an evofool checkpoint of this version")
            return state, path, skipped
        except Exception as error:  # a truncated file fails in many ways
            skipped.append(f"{path.name} is unreadable ({type(error).__name__})")
    raise CheckpointError(f"no usable checkpoint in {run_dir / CHECKPOINT_DIR}"
                          + (f": {'; '.join(skipped)}" if skipped else ""))
