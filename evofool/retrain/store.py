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

from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from evofool.retrain.layout import RETRAIN_STORE_FILE
from evofool.store.versioned_store import VersionedStore

SCHEMA_VERSION = 1

_SCHEMA = """
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


class RetrainStore(VersionedStore):
    """Read and write one experiment's ``retrain.sqlite``."""

    FILE = RETRAIN_STORE_FILE
    SCHEMA = _SCHEMA
    VERSION = SCHEMA_VERSION
    WHAT = "a retrain experiment"

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
