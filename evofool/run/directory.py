"""A long job's directory: created empty or reopened, written only under its writer lock,
and resumed only with the config it recorded. Evolution runs (evofool.run.job) and n+1
experiments (evofool.n_plus_one.experiment) both live in one.

What a resume may change: the keys a job names as free (a run's stop conditions), and
anything else with ``--force``; a ``config.yaml`` someone edited is refused rather than
overwritten, since the resume would run the recorded config, not the edit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from evofool.errors import EvofoolError
from evofool.files.yaml_files import override_dict
from evofool.store.layout import CONFIG_FILE
from evofool.store.writer_lock import WriterLock, holds_files

Config = TypeVar("Config")  # a run's RunConfig or an experiment's RetrainConfig


class RunDirectory:
    """A directory this process writes, holding its writer lock until ``release``."""

    def __init__(self, path: Path, lock: WriterLock) -> None:
        self.path = Path(path)
        self.lock = lock

    @staticmethod
    def check_unused(path: Path, *, is_kind: Callable[[Path], bool], kind: str) -> None:
        """Refuse a directory that holds a job (``kind``: "run", "experiment") or any file.

        Raises:
            EvofoolError: naming `evofool resume` for a job of this kind.
        """
        if is_kind(path):
            raise EvofoolError(f"{path} is an existing {kind}; continue it with "
                               f"`evofool resume {path}`")
        if path.exists() and (not path.is_dir() or holds_files(path)):
            raise EvofoolError(f"{path} already exists and is not empty; choose another --out")

    @classmethod
    def create(cls, path: Path, *, is_kind: Callable[[Path], bool], kind: str) -> RunDirectory:
        """Make ``path`` (new or empty), check it is writable and lock it.

        Raises:
            EvofoolError: in use, not writable, or filled by another process meanwhile.
        """
        cls.check_unused(path, is_kind=is_kind, kind=kind)
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".writable"
            probe.write_text("")
            probe.unlink()
        except OSError as error:
            raise EvofoolError(f"run directory {path} is not writable: "
                               f"{error.strerror or error}") from error
        directory = cls(path, WriterLock.acquire(path))
        if holds_files(path):
            directory.release()
            raise EvofoolError(f"{path} was filled by another process meanwhile; "
                               "choose another --out")
        return directory

    @classmethod
    def reopen(cls, path: Path, *, is_kind: Callable[[Path], bool], kind: str) -> RunDirectory:
        """Lock an existing job's directory to resume it.

        Raises:
            EvofoolError: not a job of this kind.
            RunBusyError: another process is writing it.
        """
        if not is_kind(path):
            raise EvofoolError(f"{path} is not an evofool {kind}")
        return cls(path, WriterLock.acquire(path))

    def release(self) -> None:
        self.lock.release()

    @contextlib.contextmanager
    def released_on_error(self) -> Iterator[RunDirectory]:
        """Release the lock if the block fails, so a refused start or resume leaves the
        directory free."""
        try:
            yield self
        except BaseException:
            self.release()
            raise

    def check_config_file(self, recorded: dict[str, Any],
                          read: Callable[[Path], dict[str, Any]]) -> None:
        """Refuse a ``config.yaml`` edited since the job recorded ``recorded``: a resume runs
        the recorded config and would overwrite the edit. ``read`` turns the file into a
        config dict (raising EvofoolError where it no longer reads as one).

        Raises:
            EvofoolError: the file no longer says what the job records.
        """
        path = self.path / CONFIG_FILE
        if not path.exists():
            return  # rewritten from the record once the resume starts
        try:
            edited = read(path)
        except EvofoolError as error:
            raise EvofoolError(f"{path} was edited and no longer reads as a config ({error}); "
                               "a resume runs the config the run recorded: restore the file "
                               "(or delete it) and give changes with --set") from error
        changed = changed_keys(recorded, edited)
        if changed:
            raise EvofoolError(f"{path} was edited ({', '.join(changed)}): a resume runs the "
                               "config the run recorded and would overwrite the edit; restore "
                               "the file (or delete it) and give changes with --set key=value "
                               f"(stop conditions freely, others with --force)")


def new_run_path(name: str, out: Path | None, runs_root: Path = Path("runs")) -> Path:
    """``out`` if given, else ``runs/<name>-<timestamp>`` (nothing is created yet: a run
    that fails to build, a bad model say, leaves no trace)."""
    return out or runs_root / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"


def resumed_config(recorded: dict[str, Any], overrides: Sequence[str], *,
                   parse: Callable[[dict[str, Any]], Config], free: Sequence[str] = (),
                   force: bool, what: str) -> Config:
    """The config a resume runs: ``recorded`` (as its ``to_dict``) with ``--set``
    ``overrides``, validated by ``parse``; compared after parsing, so an override that
    spells a recorded value another way changes nothing.

    Raises:
        EvofoolError: a change to a key outside ``free`` without ``force`` (it would not
            continue the same ``what``: "run", "experiment").
    """
    config = parse(override_dict(recorded, list(overrides)))
    changed = sorted(set(changed_keys(recorded, config.to_dict())) - set(free))
    if changed and not force:
        allowed = (f" (only the stop conditions {', '.join(free)} may change freely)"
                   if free else "")
        raise EvofoolError(f"resuming with a changed config ({', '.join(changed)}) would not "
                           f"continue the same {what}; pass --force to do it anyway{allowed}")
    return config


def changed_keys(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two config dicts."""
    keys = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            keys += changed_keys(old, new, f"{prefix}{key}.")
        elif old != new:
            keys.append(prefix + key)
    return keys
