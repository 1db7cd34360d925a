"""One evolution run in one directory: start or resume, loop, checkpoint, stop.

Each generation's records (store rows, metrics, champion PNGs) go through the
run recorder (evofool.run.recorder); the loop checkpoints every N generations
and/or T seconds,
and stops at the config's first stop condition or at SIGINT/SIGTERM (after
finishing the generation in hand and checkpointing). Because a checkpoint
holds all search state and every generator, and the store is rewound to it
on resume, a run killed at any moment and resumed ends exactly where an
uninterrupted run of the same seed would.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from evofool.errors import EvofoolError, describe_os_error
from evofool.evaluation.screen import SCREEN_OFF
from evofool.files.yaml_files import override_dict
from evofool.models.fingerprint import model_fingerprint
from evofool.run.builder import (
    build_algorithm,
    build_classifier,
    build_encoding,
    build_evaluation,
    build_gate,
    build_screen,
)
from evofool.run.checkpoints import (
    CheckpointError,
    RunIdentity,
    config_fingerprint,
    load_checkpoint,
    write_checkpoint,
)
from evofool.run.config import RunConfig, config_from_dict, load_config
from evofool.run.metrics import SCREEN_COLUMNS, MetricsLog
from evofool.run.outputs import write_config
from evofool.run.progress import ProgressReporter
from evofool.run.recorder import RunRecorder
from evofool.store import RunStore, is_run_dir
from evofool.store.history import keeps_every_genome
from evofool.store.layout import CONFIG_FILE, DETECTOR_FILE, SCREEN_FILE
from evofool.store.writer_lock import WriterLock, holds_files


def choose_run_dir(config: RunConfig, out: Path | None,
                   runs_root: Path = Path("runs")) -> Path:
    """``out`` if given, else ``runs/<name>-<timestamp>``; never an existing, non-empty one.

    Nothing is created yet: a run that fails to build (a bad model, say)
    leaves no trace.
    """
    run_dir = out or runs_root / f"{config.name}-{datetime.now():%Y%m%d-%H%M%S}"
    if is_run_dir(run_dir):
        raise EvofoolError(f"{run_dir} is an existing run; continue it with "
                           f"`evofool resume {run_dir}`")
    if run_dir.exists() and (not run_dir.is_dir() or holds_files(run_dir)):
        raise EvofoolError(f"{run_dir} already exists and is not empty; choose another --out")
    return run_dir


def _create_run_dir(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".writable"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise EvofoolError(f"run directory {run_dir} is not writable: "
                           f"{error.strerror or error}") from error


# Config keys that only say when to stop: a resume may change them without --force.
STOP_CONDITIONS = ("generations", "evaluations", "wall_seconds", "stop_when_all_at")


def run_identity(run_id: str | None, config: RunConfig, fingerprint: str,
                 written: dict[str, Any] | None = None) -> RunIdentity:
    """What ties checkpoints to a run (evofool.run.checkpoints): its id, its config without the
    stop conditions, its model and its encoding.

    ``written``: the config as the run recorded it, where it is read back. Its checkpoints
    were fingerprinted from that dict; a newer evofool that adds a key with a default
    reads the same config into a longer dict, which must not make the run's own
    checkpoints look foreign.
    """
    recorded = config.to_dict() if written is None else written
    return RunIdentity(run_id=run_id, encoding=config.encoding.type,
                       config_fingerprint=config_fingerprint(recorded, STOP_CONDITIONS),
                       model_fingerprint=fingerprint)


class RunAlreadyFinished(EvofoolError):
    """A resume of a finished run that no extended stop condition would continue."""


class EvolutionJob:
    """Builds a run's parts from its config; ``start`` or ``resume`` makes one ready to ``run``."""

    def __init__(self, config: RunConfig, run_dir: Path, *, progress: bool,
                 resuming: bool = False, engine: str | None = None,
                 screen_engine: str | None = None) -> None:
        self.config = config
        self.run_dir = run_dir
        self.progress = progress
        classifier = build_classifier(config)
        self.gate = build_gate(config, classifier, run_dir, resuming=resuming)
        self.screen = build_screen(config, classifier, engine=screen_engine)
        self.encoding = build_encoding(config, classifier)
        self.evaluation = build_evaluation(config, classifier, self.encoding, engine=engine,
                                           gate=self.gate, screen=self.screen)
        self.algorithm = build_algorithm(config, self.encoding, self.evaluation)
        self.class_names = self.evaluation.class_names
        self.fingerprint = model_fingerprint(classifier)
        self.keep_every_genome = keeps_every_genome(config.store.history, self.encoding)
        self.elapsed_before = 0.0
        self.stop_signal: int | None = None
        self.checkpointed_generation: int | None = None
        self.lock: WriterLock | None = None
        self.identity: RunIdentity | None = None

    def _identity(self, run_id: str | None) -> RunIdentity:
        return run_identity(run_id, self.config, self.fingerprint)

    @classmethod
    def start(cls, config: RunConfig, run_dir: Path, *, progress: bool = True) -> EvolutionJob:
        """A new run in an empty ``run_dir``: config, store and a generation-0 checkpoint."""
        job = cls(config, run_dir, progress=progress)
        _create_run_dir(run_dir)
        job.lock = WriterLock.acquire(run_dir)
        with job._releasing_lock_on_error():
            if holds_files(run_dir):
                raise EvofoolError(f"{run_dir} was filled by another process meanwhile; "
                                   "choose another --out")
            write_config(config, run_dir)
            if job.gate is not None:
                job.gate.save(run_dir / DETECTOR_FILE)
            run_id = uuid.uuid4().hex
            job.identity = job._identity(run_id)
            store = RunStore(run_dir, create=True)
            store.set_meta(config=config.to_dict(), model=config.model_label,
                           image_shape=list(job.encoding.image_shape),
                           encoding=config.encoding.type, algorithm=config.algorithm.type,
                           class_names=list(job.class_names), model_fingerprint=job.fingerprint,
                           engine=job.evaluation.engine, screen_engine=job._screen_record(),
                           status="running", created=time.time(),
                           history="all" if job.keep_every_genome else "milestones",
                           classes_in_play=job.algorithm.classes_in_play.tolist(),
                           run_id=run_id)
            job.recorder = job._recorder(store)
            job._checkpoint(0.0)
        return job

    @classmethod
    def resume(cls, run_dir: Path, overrides: list[str] = (), *, force: bool = False,
               progress: bool = True) -> EvolutionJob:
        """Continue ``run_dir`` from its newest usable checkpoint.

        Nothing in ``run_dir`` changes before the checks have passed: another
        writer, the config, the model and the checkpoint's identity.

        Raises:
            RunAlreadyFinished: a finished run whose stop conditions stay met.
            RunBusyError: another process is writing the run.
            EvofoolError: not a run, no usable checkpoint, a checkpoint of another
                run, or a changed config (beyond the stop conditions) or model without
                ``force``.
        """
        if not is_run_dir(run_dir):
            raise EvofoolError(f"{run_dir} is not an evofool run (no run.sqlite)")
        lock = WriterLock.acquire(run_dir)
        try:
            return cls._resume_locked(run_dir, lock, overrides, force=force,
                                      progress=progress)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _resume_locked(cls, run_dir: Path, lock: WriterLock, overrides: list[str], *,
                       force: bool, progress: bool) -> EvolutionJob:
        # Opened writable but only read: unlike a read-only connection, its last close
        # removes SQLite's -wal/-shm side files, so a refused resume leaves no trace.
        reader = RunStore(run_dir)
        written = reader.get_meta("config")
        stored = config_from_dict(written)
        status, stored_engine = reader.get_meta("status"), reader.get_meta("engine")
        stored_screen = reader.get_meta("screen_engine")
        fingerprint, run_id = reader.get_meta("model_fingerprint"), reader.get_meta("run_id")
        reader.close()
        _refuse_an_edited_config_file(run_dir, stored)
        config = config_from_dict(override_dict(stored.to_dict(), overrides))
        changed = set(_changed_keys(stored.to_dict(), config.to_dict())) - set(STOP_CONDITIONS)
        if changed and not force:
            raise EvofoolError(f"resuming with a changed config ({', '.join(sorted(changed))}) "
                               "would not continue the same run; pass --force to do it anyway "
                               f"(only the stop conditions {', '.join(STOP_CONDITIONS)} may "
                               "change freely)")
        # The engine the run started with (torch before engines existed), unless the
        # resume names one: a fresh "auto" choice could change the run's numbers.
        engine = None if config.evaluator.engine != stored.evaluator.engine \
            else stored_engine or "torch"
        # likewise the screen a run started with (or none), unless the resume names one
        screen = config.evaluator.screen
        screen_engine = None if screen is None or (
            stored.evaluator.screen is not None and screen.engine != stored.evaluator.screen.engine
        ) else stored_screen
        job = cls(config, run_dir, progress=progress, resuming=True, engine=engine,
                  screen_engine=screen_engine)
        job.lock = lock
        if job.fingerprint != fingerprint and not force:
            raise EvofoolError(f"model {config.model_label} is not the one this run started with; "
                               "pass --force to continue against it anyway")
        as_stored = run_identity(run_id, stored, fingerprint, written)
        state, path, skipped = load_checkpoint(run_dir, as_stored, force=force)
        for note in skipped:
            print(f"evofool: {note}; falling back to {path.name}", file=sys.stderr)
        try:
            job.algorithm.load_state_dict(state["algorithm"])
            job.elapsed_before = float(state["wall_seconds"])
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as error:
            raise CheckpointError(f"{path} does not fit this run's {config.algorithm.type} "
                                  f"search ({type(error).__name__}); move it out of the run "
                                  "to resume from the checkpoints before it") from error
        job.identity = job._identity(run_id)
        generation = job.algorithm.generation
        if status == "finished" and job._should_stop(job.elapsed_before):
            raise RunAlreadyFinished(
                f"{run_dir} is already finished (generation {generation}, "
                f"{job.algorithm.evaluations} evaluations); to go on, extend a stop condition: "
                f"evofool resume {run_dir} --set generations={generation + 100}")
        store = RunStore(run_dir)
        job.recorder = job._recorder(store, resume_from=generation)
        archive = job.algorithm.archive
        store.rewind(generation, job.recorder.champion_rows(archive, archive.occupied))
        store.set_meta(status="running", config=config.to_dict(),
                       model_fingerprint=job.fingerprint, engine=job.evaluation.engine,
                       screen_engine=job._screen_record())
        write_config(config, run_dir)
        # a forced change, or a config a newer evofool writes longer: tie the checkpoints
        # to it at once
        if job.identity != as_stored:
            job._checkpoint(job.elapsed_before)
        print(f"evofool: resuming {run_dir} at generation {generation} from {path.name}",
              file=sys.stderr)
        return job

    def run(self) -> dict[str, Any]:
        """Evolve until a stop condition or a stop signal; return the summary."""
        algorithm, settings = self.algorithm, self.config.checkpoint
        previous = {sig: signal.signal(sig, self._request_stop)
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        reporter = ProgressReporter(total_generations=self.config.generations,
                                    enabled=self.progress)
        started = time.perf_counter()
        last_checkpoint = time.monotonic()
        row = None
        try:
            while self.stop_signal is None and not self._should_stop(self._elapsed(started)):
                step_started = time.perf_counter()
                evaluations_before = algorithm.evaluations
                algorithm.step()
                row = self.recorder.record_generation(
                    algorithm, evaluated=algorithm.evaluations - evaluations_before,
                    step_seconds=time.perf_counter() - step_started,
                    elapsed=self._elapsed(started))
                reporter.update(generation=algorithm.generation,
                                evaluations=algorithm.evaluations, best=row["best"],
                                median=row["median"], worst=row["min"])
                due_by_count = (settings.every_generations is not None
                                and algorithm.generation % settings.every_generations == 0)
                due_by_time = (settings.every_seconds is not None
                               and time.monotonic() - last_checkpoint >= settings.every_seconds)
                if due_by_count or due_by_time:
                    self._checkpoint(self._elapsed(started))
                    last_checkpoint = time.monotonic()
            if row is not None:  # the last generation, also in plain logs
                reporter.update(generation=algorithm.generation,
                                evaluations=algorithm.evaluations, best=row["best"],
                                median=row["median"], worst=row["min"], final=True)
            interrupted = self.stop_signal is not None
            if self.checkpointed_generation != algorithm.generation:
                self._checkpoint(self._elapsed(started))
            summary = self.recorder.finish(algorithm, engine=self.evaluation.engine,
                                           wall_seconds=self._elapsed(started),
                                           interrupted=interrupted)
        except (OSError, sqlite3.OperationalError) as error:  # a full disk, a lost mount
            self._mark_interrupted()
            problem = describe_os_error(error) if isinstance(error, OSError) else str(error)
            raise EvofoolError(f"{self.run_dir} stopped after generation "
                               f"{algorithm.generation}: {problem}; once that is fixed it "
                               f"resumes with `evofool resume {self.run_dir}`") from error
        except BaseException:
            self._mark_interrupted()  # a failed run (a bug) is resumable from its checkpoint
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            reporter.close()
            self.recorder.close()
            self.lock.release()
        if interrupted:
            print(f"evofool: stopped by signal {self.stop_signal} after generation "
                  f"{algorithm.generation}; continue with `evofool resume {self.run_dir}`",
                  file=sys.stderr)
        return summary

    def _screen_record(self) -> str | None:
        """What the store records of the screen: its engine, SCREEN_OFF where one was
        configured but none paid here, None where none was configured."""
        if self.screen is not None:
            return self.screen.engine
        return None if self.config.evaluator.screen is None else SCREEN_OFF

    def _mark_interrupted(self) -> None:
        """Say so in the store, if the store can still be written (a full disk may refuse
        even that; the browser then tells a dead run by its released writer lock)."""
        with contextlib.suppress(sqlite3.Error, OSError):
            self.recorder.store.set_meta(status="interrupted")

    def _request_stop(self, signum: int, frame: Any) -> None:
        self.stop_signal = signum

    def _elapsed(self, started: float) -> float:
        return self.elapsed_before + time.perf_counter() - started

    def _should_stop(self, elapsed: float) -> bool:
        config, algorithm = self.config, self.algorithm
        if config.generations is not None and algorithm.generation >= config.generations:
            return True
        if config.evaluations is not None and algorithm.evaluations >= config.evaluations:
            return True
        if config.wall_seconds is not None and elapsed >= config.wall_seconds:
            return True
        if config.stop_when_all_at is not None and algorithm.generation > 0:
            fitness = algorithm.archive.fitness[algorithm.classes_in_play]
            return bool((fitness >= config.stop_when_all_at).all())
        return False

    def _recorder(self, store: RunStore, resume_from: int | None = None) -> RunRecorder:
        screen_log = None if self.screen is None else MetricsLog(
            self.run_dir, resume_from=resume_from, file=SCREEN_FILE, columns=SCREEN_COLUMNS)
        return RunRecorder(self.run_dir, encoding=self.encoding, class_names=self.class_names,
                           store=store, metrics=MetricsLog(self.run_dir, resume_from=resume_from),
                           encoding_type=self.config.encoding.type,
                           keep_every_genome=self.keep_every_genome, gate=self.gate,
                           screen_log=screen_log)

    def _checkpoint(self, elapsed: float) -> None:
        """Write a checkpoint, and the champion PNGs when they are due."""
        write_checkpoint(self.run_dir, {
            "algorithm": self.algorithm.state_dict(), "wall_seconds": elapsed},
            generation=self.algorithm.generation, keep=self.config.checkpoint.keep,
            identity=self.identity)
        self.checkpointed_generation = self.algorithm.generation
        self.recorder.refresh_champion_images(self.algorithm, when_due=True)


    @contextlib.contextmanager
    def _releasing_lock_on_error(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.lock.release()
            raise


def _refuse_an_edited_config_file(run_dir: Path, recorded: RunConfig) -> None:
    """A resume runs the config the run recorded in its store; ``config.yaml`` is its copy
    for people. Where someone edited that copy, resuming would run something else than
    they read and then overwrite their edit: refuse, naming what differs.

    Raises:
        EvofoolError: ``config.yaml`` no longer says what the run records.
    """
    path = run_dir / CONFIG_FILE
    if not path.exists():
        return  # rewritten from the record once the resume starts
    try:
        edited = load_config(path).to_dict()
    except EvofoolError as error:
        raise EvofoolError(f"{path} was edited and no longer reads as a config ({error}); "
                           "a resume runs the config the run recorded: restore the file "
                           "(or delete it) and give changes with --set") from error
    changed = _changed_keys(recorded.to_dict(), edited)
    if changed:
        raise EvofoolError(f"{path} was edited ({', '.join(changed)}): a resume runs the "
                           "config the run recorded and would overwrite the edit; restore "
                           "the file (or delete it) and give changes with --set key=value "
                           f"(stop conditions freely, others with --force)")


def _changed_keys(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            keys += _changed_keys(old, new, f"{prefix}{key}.")
        elif old != new:
            keys.append(prefix + key)
    return keys
