"""Checkpoints: everything a run needs to continue exactly, written so a crash cannot corrupt them.

A checkpoint is written to a temporary file, flushed and fsynced, then
renamed over its final name (and the directory fsynced), so at any instant
each checkpoint file is either complete or absent. Its SHA-256 is written
beside it and checked before it is loaded, so a bit flipped on disk is found,
not resumed from. The last ``keep`` are kept; loading falls back from a damaged
newest checkpoint to the one before.

Each checkpoint carries its run's identity (RunIdentity): the run id the
store got at creation, the config's and the model's fingerprints and the
encoding. A checkpoint copied in from another run (another seed of the same
config, a later generation of another run, another encoding) would silently
splice two searches together, so it is refused, naming what differs, before
anything in the run changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

import torch

from evofool.errors import EvofoolError
from evofool.files.atomic import replaced_atomically, write_atomically
from evofool.settings import positive
from evofool.store.layout import CHECKPOINT_DIR

FORMAT = "evofool-checkpoint"
VERSION = 2  # 2: carries its run's identity; 1 (none) is read for runs made before ids
UNTIED_VERSION = 1
DIGEST_SUFFIX = ".sha256"  # each checkpoint's SHA-256, checked before it is loaded


@dataclass(frozen=True)
class CheckpointSettings:
    every_generations: int | None = positive(100)  # a checkpoint every N generations
    every_seconds: float | None = positive(120.0)  # a kill loses at most ~2 min (BENCHMARKS.md)
    keep: int = positive(3)  # the newest checkpoints kept

    def due(self, generation: int, seconds_since_last: float) -> bool:
        """Whether a checkpoint is due after ``generation``, by count or by time."""
        return ((self.every_generations is not None and generation % self.every_generations == 0)
                or (self.every_seconds is not None and seconds_since_last >= self.every_seconds))


class CheckpointError(EvofoolError):
    """A checkpoint that cannot be written, or no usable checkpoint to resume from."""


@dataclass(frozen=True)
class RunIdentity:
    """What ties a checkpoint to its run.

    Attributes:
        run_id: a random id the store gets when the run is created (None for runs
            made before ids existed).
        config_fingerprint: of the config without its stop conditions, which a
            resume may change freely.
        model_fingerprint: of the model's weights (evofool.models.fingerprint).
        encoding: the encoding's type; another encoding's genomes cannot load.
    """

    run_id: str | None
    config_fingerprint: str
    model_fingerprint: str
    encoding: str

    def differences(self, other: RunIdentity, *, force: bool = False) -> list[str]:
        """What ``other`` (a checkpoint's) has that this run has not; with ``force``, a
        changed config or model is allowed (as ``resume --force`` allows them)."""
        names = ["run_id", "encoding"] + ([] if force else ["config_fingerprint",
                                                             "model_fingerprint"])
        return [f"{name.replace('_', ' ')} {getattr(other, name)!s:.16} "
                f"(this run: {getattr(self, name)!s:.16})"
                for name in names if getattr(self, name) != getattr(other, name)]


def config_fingerprint(config: dict[str, Any], stop_conditions: tuple[str, ...]) -> str:
    """A short hash of a config dict, stop conditions left out."""
    kept = {key: value for key, value in config.items() if key not in stop_conditions}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]


def checkpoint_paths(run_dir: Path) -> list[Path]:
    """Existing checkpoints, oldest first."""
    return sorted((run_dir / CHECKPOINT_DIR).glob("ckpt-*.pt"))


def write_checkpoint(run_dir: Path, state: dict[str, Any], *, generation: int,
                     keep: int, identity: RunIdentity) -> Path:
    """Write ``state`` atomically as ``identity``'s checkpoint of ``generation``; prune old
    ones.

    Raises:
        CheckpointError: the file could not be written (disk full, permissions);
            the earlier checkpoints are untouched.
    """
    directory = run_dir / CHECKPOINT_DIR
    path = directory / f"ckpt-{generation:09d}.pt"
    try:
        directory.mkdir(exist_ok=True)
        with replaced_atomically(path) as stream:
            hashing = _HashingWriter(stream)
            torch.save({"format": FORMAT, "version": VERSION, "identity": asdict(identity),
                        **state}, hashing)
        write_atomically(_digest_path(path), hashing.digest.hexdigest() + "\n")
    except OSError as error:
        raise CheckpointError(
            f"cannot write checkpoint {path}: {error.strerror or error}; earlier checkpoints "
            "are intact") from error
    for old in checkpoint_paths(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
        _digest_path(old).unlink(missing_ok=True)
    return path


class _HashingWriter:
    """A write-only stream that passes bytes on and hashes them: the checkpoint's SHA-256
    costs no second read of a file that may be hundreds of MB."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.digest = stream, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.stream.write(data)

    def flush(self) -> None:
        self.stream.flush()


def _digest_path(path: Path) -> Path:
    """Where a checkpoint's SHA-256 lies: ``ckpt-N.pt.sha256`` beside it."""
    return path.with_name(path.name + DIGEST_SUFFIX)


def _check_digest(path: Path) -> None:
    """A checkpoint whose bytes no longer hash to the digest written with it (a flipped bit
    on disk, a copy gone wrong) raises ValueError. One written before digests has none.
    """
    digest_file = _digest_path(path)
    if not digest_file.exists():
        return
    expected = digest_file.read_text().strip()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ValueError("its bytes differ from its SHA-256")


def load_checkpoint(run_dir: Path, expected: RunIdentity, *, force: bool = False,
                    ) -> tuple[dict[str, Any], Path, list[str]]:
    """The newest readable checkpoint of this run, its path, and a note for each newer one
    skipped because it could not be read.

    Raises:
        CheckpointError: no checkpoint can be read, or the newest readable one belongs
            to another run (the message names what differs; nothing is changed).
    """
    skipped = []
    for path in reversed(checkpoint_paths(run_dir)):
        try:
            _check_digest(path)
            state = torch.load(path, map_location="cpu", weights_only=True)
            if state.get("format") != FORMAT or state.get("version") not in (
                    VERSION, UNTIED_VERSION):
                raise ValueError("not an evofool checkpoint of this version")
        except Exception as error:  # a truncated file fails in many ways
            skipped.append(f"{path.name} is unreadable ({type(error).__name__}"
                           f"{': ' + str(error) if isinstance(error, ValueError) else ''})")
            continue
        _check_identity(path, state, expected, force=force)
        return state, path, skipped
    raise CheckpointError(f"no usable checkpoint in {run_dir / CHECKPOINT_DIR}"
                          + (f": {'; '.join(skipped)}" if skipped else ""))


def _check_identity(path: Path, state: dict[str, Any], expected: RunIdentity, *,
                    force: bool) -> None:
    if state["version"] == UNTIED_VERSION:
        if expected.run_id is None:  # a run from before ids: nothing to tie it to
            return
        raise CheckpointError(f"{path} carries no run id, but this run has one: it is not "
                              "this run's checkpoint; move it out of the run to resume")
    try:
        found = RunIdentity(**state["identity"])
    except (KeyError, TypeError) as error:
        raise CheckpointError(f"{path} has no readable run identity") from error
    differences = expected.differences(found, force=force)
    if differences:
        raise CheckpointError(f"{path} belongs to another run ({'; '.join(differences)}); "
                              "move it out of the run to resume from the checkpoints "
                              "before it")
