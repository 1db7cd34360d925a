"""``retrain.sqlite``: the n+1 experiment's own record, beside its rounds' run stores.

Tables:
    meta      key/value (schema version, config, status, natural class names)
    rounds    one row per finished round: the model's measures and its run's success
    trainings one row per trained model (the model of round r is trained after round r-1)
    garbage   the garbage set: every fooling image added, with its provenance and pixels

A round's row and its garbage images are written in one transaction, and a
training's row only after its model file is in place, so a resumed
experiment can tell exactly which phases are done.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from evofool.errors import EvofoolError
from evofool.retrain.layout import RETRAIN_STORE_FILE

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rounds (
    round INTEGER PRIMARY KEY, model TEXT NOT NULL, test_accuracy REAL NOT NULL,
    earlier_garbage_share REAL, median_confidence REAL, classes_at_099 INTEGER NOT NULL,
    generations_to_all_099 INTEGER, generations INTEGER NOT NULL, garbage_added INTEGER NOT NULL,
    garbage_total INTEGER NOT NULL, evolve_seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS trainings (
    round INTEGER PRIMARY KEY, path TEXT NOT NULL, mode TEXT NOT NULL, epochs INTEGER NOT NULL,
    garbage_images INTEGER NOT NULL, seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS garbage (
    id INTEGER PRIMARY KEY AUTOINCREMENT, round INTEGER NOT NULL, run TEXT NOT NULL,
    class INTEGER NOT NULL, confidence REAL NOT NULL, generation INTEGER NOT NULL,
    genome_id INTEGER NOT NULL, pixels BLOB NOT NULL);
"""


@dataclass(frozen=True)
class RoundRecord:
    """What one round measured: its model on natural and earlier garbage data, and evolution."""

    round: int
    model: str
    test_accuracy: float
    earlier_garbage_share: float | None  # None in round 0: no earlier garbage
    median_confidence: float | None
    classes_at_099: int
    generations_to_all_099: int | None  # None: some class never reached 0.99
    generations: int
    garbage_added: int
    garbage_total: int
    evolve_seconds: float


@dataclass(frozen=True)
class GarbageImage:
    """One fooling image in the garbage set, and where it came from."""

    round: int
    run: str
    class_index: int
    confidence: float
    generation: int
    genome_id: int
    pixels: np.ndarray  # uint8 (C, H, W)


class RetrainStore:
    """Read and write one experiment's ``retrain.sqlite`` (``read_only`` for the browser)."""

    def __init__(self, retrain_dir: Path, *, create: bool = False,
                 read_only: bool = False) -> None:
        self.path = Path(retrain_dir) / RETRAIN_STORE_FILE
        if not create and not self.path.exists():
            raise EvofoolError(f"{retrain_dir} is not a retrain directory "
                               f"(no {RETRAIN_STORE_FILE})")
        try:
            if read_only:
                self.connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            else:
                self.connection = sqlite3.connect(self.path)
                self.connection.execute("PRAGMA journal_mode=WAL")
                self.connection.executescript(_SCHEMA)
            version = self.get_meta("schema_version")
        except sqlite3.DatabaseError as error:
            raise EvofoolError(f"cannot open {self.path}: {error}") from error
        if version is None and not read_only:
            self.set_meta(schema_version=SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise EvofoolError(f"{self.path} has schema version {version}; this evofool reads "
                               f"version {SCHEMA_VERSION}")

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

    def record_round(self, record: RoundRecord, garbage: list[GarbageImage]) -> None:
        """A round's measures and the images it adds, together or not at all."""
        with self.connection:
            self.connection.execute(
                f"INSERT INTO rounds VALUES ({', '.join('?' * len(fields(record)))})",
                astuple(record))
            self.connection.executemany(
                "INSERT INTO garbage (round, run, class, confidence, generation, genome_id,"
                " pixels) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(image.round, image.run, image.class_index, image.confidence,
                  image.generation, image.genome_id,
                  np.ascontiguousarray(image.pixels, dtype=np.uint8).tobytes())
                 for image in garbage])

    def record_training(self, round_index: int, path: Path, *, mode: str, epochs: int,
                        garbage_images: int, seconds: float) -> None:
        with self.connection:
            self.connection.execute("INSERT INTO trainings VALUES (?, ?, ?, ?, ?, ?)",
                                    (round_index, str(path), mode, epochs, garbage_images,
                                     seconds))

    def rounds(self) -> list[RoundRecord]:
        cursor = self.connection.execute("SELECT * FROM rounds ORDER BY round")
        return [RoundRecord(*row) for row in cursor]

    def trainings(self) -> dict[int, dict[str, Any]]:
        cursor = self.connection.execute(
            "SELECT round, path, mode, epochs, garbage_images, seconds FROM trainings")
        return {row[0]: {"path": row[1], "mode": row[2], "epochs": row[3],
                         "garbage_images": row[4], "seconds": row[5]} for row in cursor}

    def garbage_pixels(self, before_round: int, image_shape: tuple[int, int, int]) -> np.ndarray:
        """uint8 (N, C, H, W): every garbage image added in rounds before ``before_round``."""
        rows = self.connection.execute(
            "SELECT pixels FROM garbage WHERE round < ? ORDER BY id", (before_round,)).fetchall()
        if not rows:
            return np.zeros((0, *image_shape), dtype=np.uint8)
        return np.stack([np.frombuffer(row[0], dtype=np.uint8).reshape(image_shape)
                         for row in rows])
