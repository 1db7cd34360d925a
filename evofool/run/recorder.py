"""Everything a run writes about its search, checkpoints aside: store rows, metrics,
champion PNGs and the end-of-run results.

The job (evofool.run.job) runs the loop and decides when; this decides what and
where, so that persistence work grows with what changed: a generation writes
only its new champions (one store transaction), and the champion PNGs of
changed classes are refreshed at most every CHAMPION_IMAGES_EVERY_SECONDS.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from evofool.algorithms import Search
from evofool.archive.confidence import (
    FOOLED_KEY,
    FOOLED_THRESHOLD,
    classes_fooled,
    median_confidence,
)
from evofool.encodings.genome_codec import record_to_bytes
from evofool.encodings.protocol import Encoding
from evofool.run.metrics import SCREEN_COLUMNS, MetricsLog, screen_totals
from evofool.run.outputs import (
    ChampionImageWriter,
    champion_image_name,
    summarise,
    write_results,
)
from evofool.store import Champion, GenomeRow, RunStore
from evofool.store.layout import SCREEN_FILE

if TYPE_CHECKING:
    from evofool.ood.gate import DetectorGate

CHAMPION_IMAGES_EVERY_SECONDS = 600  # champions/ PNGs at most this often, and at the end


class RunRecorder:
    """Writes one run's records into its directory.

    Args:
        store: the run's open store (the recorder closes it in ``close``).
        resume_from: the generation a resume continues from (later log rows are dropped).
        encoding_type: the config's encoding name, recorded with each genome.
        keep_every_genome: the store's history policy (evofool.store.history).
        gate: the OOD detector the search evolves past, or None.
        screened: whether the search screens its children (it then logs screen.csv).
    """

    def __init__(self, run_dir: Path, *, encoding: Encoding, class_names: tuple[str, ...],
                 store: RunStore, encoding_type: str, keep_every_genome: bool,
                 resume_from: int | None = None, gate: DetectorGate | None = None,
                 screened: bool = False) -> None:
        self.run_dir = run_dir
        self.encoding = encoding
        self.class_names = class_names
        self.store = store
        self.metrics = MetricsLog(run_dir, resume_from=resume_from)
        self.encoding_type = encoding_type
        self.keep_every_genome = keep_every_genome
        self.gate = gate
        self.screen_log = MetricsLog(run_dir, resume_from=resume_from, file=SCREEN_FILE,
                                     columns=SCREEN_COLUMNS) if screened else None
        self.champion_images = ChampionImageWriter(run_dir, encoding, class_names)
        self.images_written_at = float("-inf")  # the first checkpoint with genomes writes them

    def record_generation(self, search: Search, *, evaluated: int, step_seconds: float,
                          elapsed: float) -> dict[str, Any]:
        """Store this generation's champion replacements; return its metrics row.

        The row's confidences are ``fooling_values``, as the summary's are.
        """
        champions = self.champion_rows(search.archive, search.archive.last_improved)
        self.store.record_generation(
            champions, evaluations=search.evaluations, encoding=self.encoding_type,
            stepping_stones=self._stepping_stone_rows(
                search, already_stored={row.genome_id for row in champions}),
            keep_every_genome=self.keep_every_genome)
        values = fooling_values(search)
        row = {"generation": search.generation, "evaluations": search.evaluations,
               "best": max(values), "median": median_confidence(values), "min": min(values),
               FOOLED_KEY: classes_fooled(values),
               "evaluations_per_s": round(evaluated / max(step_seconds, 1e-9), 1),
               "wall_seconds": round(elapsed, 3), "gradient_steps": search.gradient_steps}
        self.metrics.record(row)
        if self.screen_log is not None and search.last_screen is not None:
            # numbered as metrics.csv is: the row of the generation the step completed
            self.screen_log.record({"generation": search.generation,
                                    **dataclasses.asdict(search.last_screen)})
        return row

    def champion_rows(self, archive, classes: torch.Tensor) -> list[Champion]:
        """Store rows for the champions of the classes flagged in ``classes``."""
        return [Champion(
            class_index=cell.index, genome_id=cell.genome_id, parent_id=cell.parent_id,
            generation=cell.generation, confidence=cell.confidence, top_k=cell.top_k,
            image=champion_image_name(cell.index, self.class_names[cell.index], cell.confidence,
                                      cell.genome_id),
            genome_payload=record_to_bytes(self.encoding.to_record(archive.genomes, cell.index),
                                           self.encoding.record_format))
            for cell in archive.cells(classes)]

    def _stepping_stone_rows(self, search: Search, already_stored: set[int]) -> list[GenomeRow]:
        """The genomes that entered a stepping-stone cell this generation (they may
        become parents, so lineages need them), each once, leaving out those in
        ``already_stored``: a new champion is always a new stone as well."""
        stones = search.stepping_stones
        if stones is None:
            return []
        entered = {cell.genome_id: cell for cell in stones.cells(stones.last_improved)
                   if cell.genome_id not in already_stored}
        return [GenomeRow(genome_id=identifier, parent_id=cell.parent_id,
                          generation=cell.generation,
                          genome_payload=record_to_bytes(
                              self.encoding.to_record(stones.genomes, cell.index),
                              self.encoding.record_format))
                for identifier, cell in entered.items()]

    def refresh_champion_images(self, search: Search, *, when_due: bool) -> None:
        """Redraw changed champions' PNGs: always, or (``when_due``) if the last refresh
        is CHAMPION_IMAGES_EVERY_SECONDS old.

        PNGs are not needed to resume (the browser draws from the store), and early in
        an ImageNet run most of 1000 champions change between two checkpoints (~4 s of
        drawing and encoding on 2 cores): refreshing them less often than checkpoints
        keeps frequent checkpoints cheap.
        """
        if when_due and time.monotonic() - self.images_written_at < CHAMPION_IMAGES_EVERY_SECONDS:
            return
        if search.archive.genomes is not None:
            self.champion_images.update(search.archive)
            self.images_written_at = time.monotonic()

    def finish(self, search: Search, *, engine: str, wall_seconds: float,
               interrupted: bool) -> dict[str, Any]:
        """The end-of-run files (PNGs, genomes, summary.json) and status; the summary."""
        self.refresh_champion_images(search, when_due=False)
        summary = summarise(search.archive, self.class_names, competing=fooling_values(search),
                            generations=search.generation,
                            evaluations=search.evaluations, wall_seconds=wall_seconds)
        summary["engine"] = engine
        summary["gradient_steps"] = search.gradient_steps  # images differentiated, not scored
        # Over the whole loop, persistence, checkpoints and these end-of-run writes
        # included (model loading comes before and is not); metrics.csv's
        # evaluations_per_s times only each generation's step, so it is higher.
        summary["evaluations_per_s_overall"] = round(
            search.evaluations / max(summary["wall_seconds"], 1e-9), 1)
        summary.update(search.summary_fields())
        if self.gate is not None:
            summary.update(self._detector_summary(search, summary["classes"]))
        if self.screen_log is not None:
            self.screen_log.stream.flush()
            summary["screen"] = {"engine": search.screen.engine, "margin": search.screen.margin,
                                 **screen_totals(self.run_dir)}
        write_results(self.run_dir, search.archive, self.encoding, summary)
        self.store.set_meta(status="interrupted" if interrupted else "finished",
                            generations=search.generation, evaluations=search.evaluations,
                            wall_seconds=summary["wall_seconds"])
        return summary

    def _detector_summary(self, search: Search, classes: list[dict[str, Any]]
                          ) -> dict[str, Any]:
        """Each class entry gets its champion's detector score and whether it passes;
        the summary, the detector's facts and how many classes fooled both."""
        scores = search.archive.outlier_score.cpu()
        passes = self.gate.passes(scores)
        for entry in classes:
            entry["detector_score"] = float(scores[entry["class"]])
            entry["passes_detector"] = bool(passes[entry["class"]])
        in_play = set(search.classes_in_play.tolist())
        passing = sum(entry["passes_detector"] and entry["confidence"] >= FOOLED_THRESHOLD
                      for entry in classes if entry["class"] in in_play)
        return {"detector": self.gate.facts, f"{FOOLED_KEY}_passing_detector": passing}

    def close(self) -> None:
        self.metrics.close()
        if self.screen_log is not None:
            self.screen_log.close()
        self.store.close()


def fooling_values(search: Search) -> list[float]:
    """What "fooled" is counted over (evofool.archive.confidence): each class in play by its
    champion's fitness floored at 0 -- the confidence, except that a gated search counts a
    champion the detector flags as 0, and an empty cell as 0."""
    return search.archive.fitness[search.classes_in_play].clamp_min(0).tolist()
