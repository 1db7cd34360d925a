"""A SQLite file with a ``meta`` table and a schema version: the base of every store.

Written stores run in WAL mode, so readers (the browser) see a consistent
state while a job writes. A store of an unknown version is refused with a
clear message instead of being guessed at.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

from evofool.errors import EvofoolError

_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"


class StoreError(EvofoolError):
    """A store that cannot be opened or is of an unknown version."""


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
                self.connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            else:
                self.connection = sqlite3.connect(self.path)
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
