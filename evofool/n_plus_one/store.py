"""``retrain.sqlite``: the n+1 experiment's own record, beside its rounds' run stores.

Tables:
    meta      key/value (schema version, config, status, natural class names)
    rounds    one row per finished round: the model's measures and its run's success
    trainings one row per trained model (the model of round r is trained after round r-1)
    garbage   the garbage set: every fooling image added, with its provenance and pixels
    held_out  each round's held-out fooling images (never trained on), pixels only

A round's row and its garbage images are written in one transaction, and a
training's row only after its model file is in place, so a resumed
experiment can tell exactly which phases are done.
"""

from __future__ import annotations

import json
from dataclasses import asdict, astuple, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from evofool.archive.confidence import ALL_FOOLED_KEY, FOOLED_KEY
from evofool.store.retrain_layout import RETRAIN_STORE_FILE
from evofool.store.versioned_store import VersionedStore

SCHEMA_VERSION = 2  # 2: held-out fooling images and their measures

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rounds (
    round INTEGER PRIMARY KEY, model TEXT NOT NULL, test_accuracy REAL NOT NULL,
    earlier_garbage_share REAL, median_confidence REAL, classes_at_099 INTEGER NOT NULL,
    generations_to_all_099 INTEGER, generations INTEGER NOT NULL, garbage_added INTEGER NOT NULL,
    garbage_total INTEGER NOT NULL, evolve_seconds REAL NOT NULL, held_out_images INTEGER,
    held_out_garbage_share REAL, held_out_auroc TEXT);
CREATE TABLE IF NOT EXISTS trainings (
    round INTEGER PRIMARY KEY, path TEXT NOT NULL, mode TEXT NOT NULL, epochs INTEGER NOT NULL,
    garbage_images INTEGER NOT NULL, seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS garbage (
    id INTEGER PRIMARY KEY AUTOINCREMENT, round INTEGER NOT NULL, run TEXT NOT NULL,
    class INTEGER NOT NULL, confidence REAL NOT NULL, generation INTEGER NOT NULL,
    genome_id INTEGER NOT NULL, pixels BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS held_out (
    id INTEGER PRIMARY KEY AUTOINCREMENT, round INTEGER NOT NULL, pixels BLOB NOT NULL);
"""
_HELD_OUT_COLUMNS = """
ALTER TABLE rounds ADD COLUMN held_out_images INTEGER;
ALTER TABLE rounds ADD COLUMN held_out_garbage_share REAL;
ALTER TABLE rounds ADD COLUMN held_out_auroc TEXT;
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
    held_out_images: int | None = None  # this round's held-out fooling images
    held_out_garbage_share: float | None = None  # of last round's, called garbage by this model
    held_out_auroc: dict[str, float] | None = None  # detector -> AUROC on this round's

    def as_row(self) -> dict[str, Any]:
        """This round as the tables, plots and browser show it: the store's
        ``classes_at_099`` and ``generations_to_all_099`` columns (retrain.sqlite's names,
        kept so that existing experiments read) under the keys every report uses."""
        row = asdict(self)
        row[FOOLED_KEY] = row.pop("classes_at_099")
        row[ALL_FOOLED_KEY] = row.pop("generations_to_all_099")
        return row


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
    MIGRATIONS = {1: _HELD_OUT_COLUMNS}

    def record_round(self, record: RoundRecord, garbage: list[GarbageImage],
                     held_out: np.ndarray | None = None) -> None:
        """A round's measures, the images it adds and its held-out images (uint8 N, C, H, W),
        together or not at all."""
        row = astuple(record)[:-1] + (
            None if record.held_out_auroc is None else json.dumps(record.held_out_auroc),)
        with self.connection:
            self.connection.execute(
                f"INSERT INTO rounds VALUES ({', '.join('?' * len(fields(record)))})", row)
            if held_out is not None:
                self.connection.executemany(
                    "INSERT INTO held_out (round, pixels) VALUES (?, ?)",
                    [(record.round, np.ascontiguousarray(image, dtype=np.uint8).tobytes())
                     for image in held_out])
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
        return [RoundRecord(*row[:-1], None if row[-1] is None else json.loads(row[-1]))
                for row in cursor]

    def trainings(self) -> dict[int, dict[str, Any]]:
        cursor = self.connection.execute(
            "SELECT round, path, mode, epochs, garbage_images, seconds FROM trainings")
        return {row[0]: {"path": row[1], "mode": row[2], "epochs": row[3],
                         "garbage_images": row[4], "seconds": row[5]} for row in cursor}

    def garbage_pixels(self, before_round: int, image_shape: tuple[int, int, int]) -> np.ndarray:
        """uint8 (N, C, H, W): every garbage image added in rounds before ``before_round``."""
        return _pixels(self.connection.execute(
            "SELECT pixels FROM garbage WHERE round < ? ORDER BY id", (before_round,)).fetchall(),
            image_shape)

    def held_out_pixels(self, round_index: int, image_shape: tuple[int, int, int]) -> np.ndarray:
        """uint8 (N, C, H, W): round ``round_index``'s held-out fooling images."""
        return _pixels(self.connection.execute(
            "SELECT pixels FROM held_out WHERE round = ? ORDER BY id", (round_index,)).fetchall(),
            image_shape)


def _pixels(rows: list[tuple[bytes]], image_shape: tuple[int, int, int]) -> np.ndarray:
    if not rows:
        return np.zeros((0, *image_shape), dtype=np.uint8)
    return np.stack([np.frombuffer(row[0], dtype=np.uint8).reshape(image_shape)
                     for row in rows])
