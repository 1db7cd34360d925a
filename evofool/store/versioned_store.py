"""A SQLite file with a ``meta`` table and a schema version: the base of every store.

Written stores run in WAL mode, so readers (the browser) see a consistent
state while a job writes. A store of an unknown version is refused with a
clear message instead of being guessed at, and a damaged one (garbage in its
pages) is a StoreError naming the file, whichever query meets the damage.
A reader of a store no writer holds opens it immutable, so that reading a run
leaves no ``-wal`` / ``-shm`` files behind in it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

from evofool.errors import EvofoolError
from evofool.store.writer_lock import writer_alive

_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"


class StoreError(EvofoolError):
    """A store that cannot be opened or is of an unknown version."""


def _damage(error: sqlite3.DatabaseError, path: Path) -> Exception:
    """A damaged file ("database disk image is malformed", "file is not a database") as a
    StoreError naming it; other SQLite errors (locked, disk full) stay as they are."""
    if isinstance(error, sqlite3.OperationalError):
        return error
    return StoreError(f"{path} is damaged ({error}); `sqlite3 {path} .recover` may save "
                      "most of it, and the run's champions/ PNGs and genomes.json / "
                      "genomes.npz hold its last champions")


def _guarded(name: str) -> Any:
    """``sqlite3.Cursor``'s method ``name``, reporting a damaged file as a StoreError."""
    method = getattr(sqlite3.Cursor, name)

    def guarded(self: _GuardedCursor, *args: Any) -> Any:
        try:
            return method(self, *args)
        except sqlite3.DatabaseError as error:
            raise _damage(error, self.path) from error

    return guarded


class _GuardedCursor(sqlite3.Cursor):
    """A cursor whose reads report a damaged file as a StoreError: damage shows on the
    page a query touches, in the middle of a fetch as often as at its start."""

    path: Path
    execute = _guarded("execute")
    executemany = _guarded("executemany")
    fetchone = _guarded("fetchone")
    fetchall = _guarded("fetchall")
    __next__ = _guarded("__next__")


class _GuardedConnection(sqlite3.Connection):
    """A connection whose ``execute`` hands out guarded cursors."""

    path: Path

    def execute(self, *args: Any) -> _GuardedCursor:
        cursor = self.cursor(_GuardedCursor)
        cursor.path = self.path
        return cursor.execute(*args)

    def executemany(self, *args: Any) -> _GuardedCursor:
        cursor = self.cursor(_GuardedCursor)
        cursor.path = self.path
        return cursor.executemany(*args)


class VersionedStore:
    """Opens ``directory / FILE``; subclasses give the file name, schema and version.

    Args:
        directory: the run or experiment directory.
        read_only: open without write access (the browser, export, transfer).
        create: create the database if it does not exist.

    Raises:
        StoreError: no such store (and not ``create``), a damaged file, or another version.
    """

    FILE: ClassVar[str]
    SCHEMA: ClassVar[str]
    VERSION: ClassVar[int]
    WHAT: ClassVar[str]  # for "X is not <WHAT>"
    # version -> the SQL that takes a store of that version to the next (run after SCHEMA)
    MIGRATIONS: ClassVar[dict[int, str]] = {}

    def __init__(self, directory: Path, *, read_only: bool = False,
                 create: bool = False) -> None:
        self.path = Path(directory) / self.FILE
        if not create and not self.path.exists():
            raise StoreError(f"{directory} is not {self.WHAT} (no {self.FILE})")
        try:
            if read_only:
                self.connection = sqlite3.connect(f"file:{self.path}?mode=ro"
                                                  f"{self._immutable_unless_live()}", uri=True,
                                                  factory=_GuardedConnection)
            else:
                self.connection = sqlite3.connect(self.path, factory=_GuardedConnection)
            self.connection.path = self.path
            if not read_only:
                self.connection.execute("PRAGMA journal_mode=WAL")
                self.connection.execute("PRAGMA synchronous=NORMAL")
                self.connection.executescript(_META + self.SCHEMA)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"cannot open {self.path}: {error}") from error
        try:
            version = self.get_meta("schema_version")
            if version is None and not read_only:
                self.set_meta(schema_version=self.VERSION)
            elif version in self.MIGRATIONS and not read_only:
                self._migrate(version)
            elif version != self.VERSION:
                raise StoreError(f"{self.path} has schema version {version}; this evofool "
                                 f"reads version {self.VERSION}")
        except sqlite3.DatabaseError as error:
            self.close()
            raise StoreError(f"cannot open {self.path}: {error}") from error
        except StoreError:
            self.close()
            raise

    def _immutable_unless_live(self) -> str:
        """``&immutable=1`` for a store that no writer holds and whose write-ahead log is
        checkpointed away: SQLite then reads it without creating ``-wal`` / ``-shm``
        files. A live run (or a killed one whose log still holds its last generations)
        is read through the log, which its files already hold."""
        side_files = [self.path.with_name(self.path.name + suffix) for suffix in ("-wal",
                                                                                 "-shm")]
        if writer_alive(self.path.parent) or any(side.exists() for side in side_files):
            return ""
        return "&immutable=1"

    def check_integrity(self) -> None:
        """SQLite's quick check of every page (seconds for a GB).

        Raises:
            StoreError: the file is damaged.
        """
        problems = [row[0] for row in self.connection.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            raise _damage(sqlite3.DatabaseError("; ".join(problems)[:200]), self.path)

    def _migrate(self, version: int) -> None:
        """Bring an older store up to VERSION in one transaction: all steps or none."""
        with self.connection:
            while version < self.VERSION:
                for statement in self.MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self.connection.execute(statement)
                version += 1
            self.connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                    ("schema_version", json.dumps(version)))

    def close(self) -> None:
        self.connection.close()

    def get_meta(self, key: str) -> Any:
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, **values: Any) -> None:
        with self.connection:
            self.connection.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(key, json.dumps(value)) for key, value in values.items()])
