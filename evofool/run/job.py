"""One evolution run in one directory: start or resume, loop, checkpoint, stop.

Records go through the run recorder (evofool.run.recorder); the loop checkpoints
every N generations and/or T seconds and stops at the first stop rule
(evofool.run.stop_rules); the directory's lock and what a start or resume refuses are
evofool.run.directory's and evofool.run.resume's. A checkpoint holds all search state
and every generator, and the store is rewound to it on resume, so a run killed at any
moment and resumed ends exactly where an uninterrupted run of the same seed would.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from evofool.errors import EvofoolError, describe_os_error
from evofool.run.builder import build_run, screen_record
from evofool.run.checkpoints import RunIdentity, write_checkpoint
from evofool.run.config import RunConfig
from evofool.run.directory import RunDirectory
from evofool.run.outputs import write_config
from evofool.run.progress import ProgressReporter
from evofool.run.recorder import RunRecorder
from evofool.run.resume import RecordedRun, restore_search, run_identity
from evofool.run.stop_rules import StopSignals, should_stop
from evofool.store import RunStore, is_run_dir
from evofool.store.history import keeps_every_genome
from evofool.store.layout import DETECTOR_FILE


class EvolutionJob:
    """Builds a run's parts from its config; ``start`` or ``resume`` makes one ready to ``run``."""

    def __init__(self, config: RunConfig, run_dir: Path, *, progress: bool,
                 resuming: bool = False, engine: str | None = None,
                 screen_engine: str | None = None, bar: bool = False) -> None:
        self.config = config
        self.run_dir = run_dir
        self.progress = progress
        self.bar = bar
        (self.gate, self.screen, self.encoding, self.evaluator, self.algorithm,
         self.fingerprint) = build_run(config, run_dir, resuming=resuming, engine=engine,
                                       screen_engine=screen_engine)
        self.class_names = self.evaluator.class_names
        self.keep_every_genome = keeps_every_genome(config.store.history, self.encoding)
        self.elapsed_before = 0.0
        self.stop_signal: int | None = None
        self.checkpointed_generation: int | None = None
        self.directory: RunDirectory | None = None
        self.identity: RunIdentity | None = None

    @classmethod
    def start(cls, config: RunConfig, run_dir: Path, *, progress: bool = True,
              bar: bool = False) -> EvolutionJob:
        """A new run in an empty ``run_dir``: config, store and a generation-0 checkpoint.
        ``bar``: a progress bar even where stderr is no terminal (evofool.run.progress)."""
        job = cls(config, run_dir, progress=progress, bar=bar)
        job.directory = RunDirectory.create(run_dir, is_kind=is_run_dir, kind="run")
        with job.directory.released_on_error():
            write_config(config, run_dir)
            if job.gate is not None:
                job.gate.save(run_dir / DETECTOR_FILE)
            job.identity = run_identity(run_id := uuid.uuid4().hex, config, job.fingerprint)
            store = RunStore(run_dir, create=True)
            store.set_meta(**job._store_facts(), model=config.model_label,
                           image_shape=list(job.encoding.image_shape),
                           encoding=config.encoding.type, algorithm=config.algorithm.type,
                           class_names=list(job.class_names), created=time.time(),
                           history="all" if job.keep_every_genome else "milestones",
                           classes_in_play=job.algorithm.classes_in_play.tolist(),
                           run_id=run_id)
            job.recorder = job._recorder(store)
            job._checkpoint(0.0)
        return job

    @classmethod
    def resume(cls, run_dir: Path, overrides: list[str] = (), *, force: bool = False,
               progress: bool = True, bar: bool = False) -> EvolutionJob:
        """Continue ``run_dir`` from its newest usable checkpoint; nothing in it changes
        before the checks (evofool.run.resume) have passed.

        Raises:
            RunAlreadyFinished: a finished run whose stop conditions stay met.
            RunBusyError: another process is writing the run.
            EvofoolError: not a run, no usable checkpoint, a checkpoint of another run, or
                a changed config (beyond the stop conditions) or model without ``force``.
        """
        directory = RunDirectory.reopen(run_dir, is_kind=is_run_dir, kind="run")
        with directory.released_on_error():
            return cls._resume_locked(directory, overrides, force=force, progress=progress,
                                      bar=bar)

    @classmethod
    def _resume_locked(cls, directory: RunDirectory, overrides: list[str], *,
                       force: bool, progress: bool, bar: bool) -> EvolutionJob:
        run_dir = directory.path
        recorded = RecordedRun.read(run_dir)
        config, engine, screen_engine = recorded.resumed(directory, overrides, force=force)
        job = cls(config, run_dir, progress=progress, resuming=True, engine=engine,
                  screen_engine=screen_engine, bar=bar)
        job.directory = directory
        job.elapsed_before, path = restore_search(run_dir, recorded, job.algorithm,
                                                  config=config, fingerprint=job.fingerprint,
                                                  force=force)
        job.identity = run_identity(recorded.run_id, config, job.fingerprint)
        generation = job.algorithm.generation
        store = RunStore(run_dir)
        job.recorder = job._recorder(store, resume_from=generation)
        archive = job.algorithm.archive
        store.rewind(generation, job.recorder.champion_rows(archive, archive.occupied))
        store.set_meta(**job._store_facts())
        write_config(config, run_dir)
        # a forced change, or a config a newer evofool writes longer: tie the checkpoints
        # to it at once
        if job.identity != recorded.identity():
            job._checkpoint(job.elapsed_before)
        print(f"evofool: resuming {run_dir} at generation {generation} from {path.name}",
              file=sys.stderr)
        return job

    def run(self) -> dict[str, Any]:
        """Evolve until a stop condition or a stop signal; return the summary."""
        reporter = ProgressReporter(total_generations=self.config.generations,
                                    enabled=self.progress, bar=self.bar)
        try:
            with StopSignals() as signals:
                summary = self._evolve(reporter, signals)
        except (OSError, sqlite3.OperationalError) as error:  # a full disk, a lost mount
            self._mark_interrupted()
            problem = describe_os_error(error) if isinstance(error, OSError) else str(error)
            raise EvofoolError(f"{self.run_dir} stopped after generation "
                               f"{self.algorithm.generation}: {problem}; once that is fixed "
                               f"it resumes with `evofool resume {self.run_dir}`") from error
        except BaseException:
            self._mark_interrupted()  # a failed run (a bug) is resumable from its checkpoint
            raise
        finally:
            reporter.close()
            self.recorder.close()
            self.directory.release()
        if self.stop_signal is not None:
            print(f"evofool: stopped by signal {self.stop_signal} after generation "
                  f"{self.algorithm.generation}; continue with `evofool resume {self.run_dir}`",
                  file=sys.stderr)
        return summary

    def _evolve(self, reporter: ProgressReporter, signals: StopSignals) -> dict[str, Any]:
        """The generation loop, its checkpoints, and the end-of-run records."""
        algorithm, settings = self.algorithm, self.config.checkpoint
        started, last_checkpoint, row = time.perf_counter(), time.monotonic(), None
        while signals.received is None and not should_stop(self.config, algorithm,
                                                           self._elapsed(started)):
            step_started, evaluations_before = time.perf_counter(), algorithm.evaluations
            algorithm.step()
            row = self.recorder.record_generation(
                algorithm, evaluated=algorithm.evaluations - evaluations_before,
                step_seconds=time.perf_counter() - step_started, elapsed=self._elapsed(started))
            reporter.update(row)
            if settings.due(algorithm.generation, time.monotonic() - last_checkpoint):
                self._checkpoint(self._elapsed(started))
                last_checkpoint = time.monotonic()
        self.stop_signal = signals.received
        if row is not None:  # the last generation, also in plain logs
            reporter.update(row, final=True)
        if self.checkpointed_generation != algorithm.generation:
            self._checkpoint(self._elapsed(started))
        return self.recorder.finish(algorithm, engine=self.evaluator.engine,
                                    wall_seconds=self._elapsed(started),
                                    interrupted=self.stop_signal is not None)

    def _store_facts(self) -> dict[str, Any]:
        """What the store says of a running run, at start and at every resume."""
        return {"status": "running", "config": self.config.to_dict(),
                "model_fingerprint": self.fingerprint, "engine": self.evaluator.engine,
                "screen_engine": screen_record(self.config, self.screen)}

    def _mark_interrupted(self) -> None:
        """Say so in the store, if the store can still be written (a full disk may refuse
        even that; the browser then tells a dead run by its released writer lock)."""
        with contextlib.suppress(sqlite3.Error, OSError):
            self.recorder.store.set_meta(status="interrupted")

    def _elapsed(self, started: float) -> float:
        return self.elapsed_before + time.perf_counter() - started

    def _recorder(self, store: RunStore, resume_from: int | None = None) -> RunRecorder:
        return RunRecorder(self.run_dir, encoding=self.encoding, class_names=self.class_names,
                           store=store, encoding_type=self.config.encoding.type,
                           keep_every_genome=self.keep_every_genome, resume_from=resume_from,
                           gate=self.gate, screened=self.screen is not None)

    def _checkpoint(self, elapsed: float) -> None:
        """Write a checkpoint, and the champion PNGs when they are due."""
        write_checkpoint(self.run_dir, {
            "algorithm": self.algorithm.state_dict(), "wall_seconds": elapsed},
            generation=self.algorithm.generation, keep=self.config.checkpoint.keep,
            identity=self.identity)
        self.checkpointed_generation = self.algorithm.generation
        self.recorder.refresh_champion_images(self.algorithm, when_due=True)
