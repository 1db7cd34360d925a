"""The run store: ``run.sqlite`` in the run directory.

Tables:
    meta       key/value run metadata (schema version, config, model, status, ...)
    champions  the current champion of each class
    history    every champion replacement, in order
    genomes    every genome that ever was a champion or a stepping stone (a
               MAP-Elites parent cell), by id, so lineages are complete; its payload
               is exact, 8-bit or empty (lineage only) as evofool.store.history says
    milestones genomes that were their class's first champion at a confidence
               milestone: kept as 8-bit images once replaced (history policy
               "milestones" only)

Writes happen in one transaction per generation. The database runs in WAL
mode, so the browser (and any other process) can read it while a run writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evofool.encodings.genome_codec import to_8bit_payload
from evofool.store.history import milestone_level
from evofool.store.layout import STORE_FILE
from evofool.store.versioned_store import VersionedStore

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS champions (
    class INTEGER PRIMARY KEY, genome_id INTEGER NOT NULL, parent_id INTEGER NOT NULL,
    generation INTEGER NOT NULL, confidence REAL NOT NULL, top_k TEXT NOT NULL,
    image TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, class INTEGER NOT NULL, genome_id INTEGER NOT NULL,
    parent_id INTEGER NOT NULL, generation INTEGER NOT NULL, confidence REAL NOT NULL,
    evaluations INTEGER NOT NULL, time REAL NOT NULL);
CREATE INDEX IF NOT EXISTS history_by_class ON history (class, generation);
CREATE TABLE IF NOT EXISTS genomes (
    genome_id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL, generation INTEGER NOT NULL,
    encoding TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS milestones (
    genome_id INTEGER PRIMARY KEY, generation INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Champion:
    """A genome that was the champion of ``class_index``: the one record of a champion from
    the archive (the run recorder makes it, with its genome) through the store to
    everything that reads a run (StoredRun, export, the n+1 experiment, the browser).

    ``top_k`` (the model's top classes) and ``image`` (the champion PNG's name) are known
    for current champions; ``evaluations`` (spent when it took the class) and
    ``image_kept`` (whether the store still holds its genome) for history entries;
    ``genome_payload`` only on the way in.
    """

    class_index: int
    genome_id: int
    parent_id: int
    generation: int
    confidence: float
    top_k: list[tuple[int, float]] = field(default_factory=list)
    image: str | None = None
    evaluations: int | None = None
    image_kept: bool = True
    genome_payload: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class GenomeRow:
    """A genome stored for lineage only: a stepping stone that is no class's champion."""

    genome_id: int
    parent_id: int
    generation: int
    genome_payload: bytes


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds a run's store."""
    return (Path(path) / STORE_FILE).exists()


class RunStore(VersionedStore):
    """Read and write one run's database (see :class:`VersionedStore` for opening it)."""

    FILE = STORE_FILE
    SCHEMA = _SCHEMA
    VERSION = SCHEMA_VERSION
    WHAT = "an evofool run"

    def record_generation(self, rows: Iterable[Champion], *, evaluations: int,
                          encoding: str, stepping_stones: Iterable[GenomeRow] = (),
                          keep_every_genome: bool = True) -> None:
        """Write one generation's champion replacements (and the genomes of its new
        stepping stones) in one transaction.

        With ``keep_every_genome`` false (the ``milestones`` policy), stepping stones
        keep their lineage only, and genomes no class holds any more are thinned:
        8-bit if they were a milestone, lineage only otherwise.
        """
        now = time.time()
        with self.connection:
            for stone in stepping_stones:
                self._insert_genome(stone, encoding,
                                    stone.genome_payload if keep_every_genome else b"")
            replaced = set()
            for row in rows:
                previous = self.connection.execute(
                    "SELECT genome_id, confidence FROM champions WHERE class = ?",
                    (row.class_index,)).fetchone()
                if previous is not None:
                    replaced.add(previous[0])
                if not keep_every_genome and milestone_level(row.confidence) > \
                        milestone_level(previous[1] if previous else 0.0):
                    self.connection.execute("INSERT OR IGNORE INTO milestones VALUES (?, ?)",
                                            (row.genome_id, row.generation))
                self.connection.execute(
                    "INSERT OR REPLACE INTO champions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (row.class_index, row.genome_id, row.parent_id, row.generation,
                     row.confidence, json.dumps(row.top_k), row.image, now))
                self.connection.execute(
                    "INSERT INTO history (class, genome_id, parent_id, generation, confidence,"
                    " evaluations, time) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (row.class_index, row.genome_id, row.parent_id, row.generation,
                     row.confidence, evaluations, now))
                self._insert_genome(row, encoding, row.genome_payload)
            if not keep_every_genome:
                self._thin(replaced)

    def _insert_genome(self, row: Champion | GenomeRow, encoding: str,
                       payload: bytes) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO genomes VALUES (?, ?, ?, ?, ?)",
            (row.genome_id, row.parent_id, row.generation, encoding, payload))

    def _thin(self, genome_ids: set[int]) -> None:
        """Shrink the payloads of those ``genome_ids`` that no class holds any more."""
        for genome_id in genome_ids:
            if self.connection.execute("SELECT 1 FROM champions WHERE genome_id = ?",
                                       (genome_id,)).fetchone() is not None:
                continue
            milestone = self.connection.execute(
                "SELECT 1 FROM milestones WHERE genome_id = ?", (genome_id,)).fetchone()
            payload = b""
            if milestone is not None:
                payload = to_8bit_payload(self.connection.execute(
                    "SELECT payload FROM genomes WHERE genome_id = ?", (genome_id,)).fetchone()[0])
            self.connection.execute("UPDATE genomes SET payload = ? WHERE genome_id = ?",
                                    (payload, genome_id))

    def rewind(self, generation: int, champions: Iterable[Champion]) -> None:
        """Forget everything from ``generation`` on and reset the champions table.

        A resumed run restarts from its last checkpoint; whatever the store
        recorded after it is redone, so it is removed first. The champions'
        genomes are written again: a later replacement may have thinned them.
        """
        with self.connection:
            self.connection.execute("DELETE FROM history WHERE generation >= ?", (generation,))
            self.connection.execute("DELETE FROM genomes WHERE generation >= ?", (generation,))
            self.connection.execute("DELETE FROM milestones WHERE generation >= ?",
                                    (generation,))
            self.connection.execute("DELETE FROM champions")
            now = time.time()
            for row in champions:
                self.connection.execute(
                    "INSERT INTO champions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (row.class_index, row.genome_id, row.parent_id, row.generation,
                     row.confidence, json.dumps(row.top_k), row.image, now))
                self.connection.execute("UPDATE genomes SET payload = ? WHERE genome_id = ?",
                                        (row.genome_payload, row.genome_id))

    def classes_in_play(self) -> list[int]:
        """The classes this run evolves for: MAP-Elites cells, or GA / ascent targets.

        Recorded at the start of a run; derived from the config for runs made before.
        """
        recorded = self.get_meta("classes_in_play")
        if recorded is not None:
            return recorded
        algorithm = (self.get_meta("config") or {}).get("algorithm") or {}
        chosen = algorithm.get("classes") or algorithm.get("targets")
        return sorted(set(chosen)) if chosen else list(range(len(self.get_meta("class_names")
                                                                  or [])))

    def champions(self) -> list[Champion]:
        """The current champion of every occupied class, by class."""
        cursor = self.connection.execute(
            "SELECT class, genome_id, parent_id, generation, confidence, top_k, image"
            " FROM champions ORDER BY class")
        return [Champion(c, g, p, gen, conf, top_k=[tuple(pair) for pair in json.loads(top)],
                         image=image)
                for c, g, p, gen, conf, top, image in cursor]

    def history(self, class_index: int | None = None) -> list[Champion]:
        """Every champion replacement in order; ``image_kept`` says whether the store
        still holds its genome (exact or 8-bit) or only its lineage."""
        query = ("SELECT h.class, h.genome_id, h.parent_id, h.generation, h.confidence,"
                 " h.evaluations, length(g.payload) > 0"
                 " FROM history h LEFT JOIN genomes g ON g.genome_id = h.genome_id")
        arguments: tuple = ()
        if class_index is not None:
            query += " WHERE h.class = ?"
            arguments = (class_index,)
        cursor = self.connection.execute(query + " ORDER BY h.id", arguments)
        return [Champion(c, g, p, gen, conf, evaluations=ev, image_kept=bool(kept))
                for c, g, p, gen, conf, ev, kept in cursor]

    def genome(self, genome_id: int) -> tuple[str, bytes] | None:
        """The genome's encoding and payload; None if not stored or kept for lineage only."""
        row = self.connection.execute(
            "SELECT encoding, payload FROM genomes WHERE genome_id = ?", (genome_id,)).fetchone()
        return None if row is None or not row[1] else (row[0], row[1])

    def lineage(self, genome_id: int, limit: int = 1000) -> list[dict[str, Any]]:
        """``genome_id`` and its ancestors, newest first, as far as the store holds them,
        each with whether its image is kept (see evofool.store.history).

        MAP-Elites parents are always champions or stepping stones, whose
        genomes are stored, so a champion's chain runs back to its
        generation-0 ancestor.
        """
        chain = []
        while genome_id >= 0 and len(chain) < limit:
            row = self.connection.execute(
                "SELECT parent_id, generation, length(payload) > 0 FROM genomes"
                " WHERE genome_id = ?", (genome_id,)).fetchone()
            if row is None:
                break
            chain.append({"genome_id": genome_id, "parent_id": row[0], "generation": row[1],
                          "image_kept": bool(row[2])})
            genome_id = row[0]
        return chain

    def integrity(self) -> str:
        return self.connection.execute("PRAGMA integrity_check").fetchone()[0]
