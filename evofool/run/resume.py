"""What a resume reads and checks before a run goes on: the run as its store recorded it,
the config it will run (recorded, with ``--set`` overrides), the engines it scores with,
and the checkpoint its search continues from. Nothing here writes to the run."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evofool.algorithms import Search
from evofool.errors import EvofoolError
from evofool.run.builder import engines_on_resume
from evofool.run.checkpoints import (
    CheckpointError,
    RunIdentity,
    config_fingerprint,
    load_checkpoint,
)
from evofool.run.config import RunConfig, config_from_dict, load_config
from evofool.run.directory import RunDirectory, resumed_config
from evofool.run.stop_rules import STOP_CONDITIONS, RunAlreadyFinished, should_stop
from evofool.store import RunStore


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


@dataclass(frozen=True)
class RecordedRun:
    """A run as its store recorded it: ``written`` is its config dict as stored (which its
    checkpoints' identity was computed from), ``config`` that dict read as a config."""

    written: dict[str, Any]
    config: RunConfig
    status: str | None
    run_id: str | None
    fingerprint: str | None
    engine: str | None
    screen_engine: str | None

    @classmethod
    def read(cls, run_dir: Path) -> RecordedRun:
        # Opened writable but only read: unlike a read-only connection, its last close
        # removes SQLite's -wal/-shm side files, so a refused resume leaves no trace.
        store = RunStore(run_dir)
        try:
            written = store.get_meta("config")
            return cls(written, config_from_dict(written), store.get_meta("status"),
                       store.get_meta("run_id"), store.get_meta("model_fingerprint"),
                       store.get_meta("engine"), store.get_meta("screen_engine"))
        finally:
            store.close()

    def resumed(self, directory: RunDirectory, overrides: list[str], *,
                force: bool) -> tuple[RunConfig, str | None, str | None]:
        """The config the resume runs, and its exact and screening engines (None: choose).

        Raises:
            EvofoolError: an edited config.yaml, or a changed config beyond the stop
                conditions without ``force``.
        """
        recorded = self.config.to_dict()
        directory.check_config_file(recorded, lambda path: load_config(path).to_dict())
        # the model's path may change (a moved file): its fingerprint decides (restore_search)
        config = resumed_config(recorded, overrides, parse=config_from_dict,
                                free=(*STOP_CONDITIONS, "model"), force=force, what="run")
        return (config, *engines_on_resume(self.config, config, self.engine,
                                           self.screen_engine))

    def identity(self) -> RunIdentity:
        """The identity the run's checkpoints carry."""
        return run_identity(self.run_id, self.config, self.fingerprint, self.written)


def restore_search(run_dir: Path, recorded: RecordedRun, algorithm: Search, *,
                   config: RunConfig, fingerprint: str, force: bool) -> tuple[float, Path]:
    """Load the newest usable checkpoint into ``algorithm``; its run time so far and path.

    Raises:
        EvofoolError: another model without ``force``, no usable checkpoint, or one that
            does not fit the search.
        RunAlreadyFinished: a finished run whose stop conditions stay met.
    """
    if fingerprint != recorded.fingerprint and not force:
        raise EvofoolError(f"model {config.model_label} is not the one this run started with; "
                           "pass --force to continue against it anyway")
    state, path, skipped = load_checkpoint(run_dir, recorded.identity(), force=force)
    for note in skipped:
        print(f"evofool: {note}; falling back to {path.name}", file=sys.stderr)
    try:
        algorithm.load_state_dict(state["algorithm"])
        elapsed = float(state["wall_seconds"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as error:
        raise CheckpointError(f"{path} does not fit this run's {config.algorithm.type} "
                              f"search ({type(error).__name__}); move it out of the run "
                              "to resume from the checkpoints before it") from error
    generation = algorithm.generation
    if recorded.status == "finished" and should_stop(config, algorithm, elapsed):
        raise RunAlreadyFinished(
            f"{run_dir} is already finished (generation {generation}, "
            f"{algorithm.evaluations} evaluations); to go on, extend a stop condition: "
            f"evofool resume {run_dir} --set generations={generation + 100}")
    return elapsed, path
