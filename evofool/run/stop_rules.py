"""When a run stops: the config's stop conditions (the only keys a resume may change
without ``--force``: they say when to stop, not what the search is), or SIGINT/SIGTERM."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any

from evofool.errors import EvofoolError

if TYPE_CHECKING:
    from evofool.algorithms import Search
    from evofool.run.config import RunConfig

STOP_CONDITIONS = ("generations", "evaluations", "wall_seconds", "stop_when_all_at")


class RunAlreadyFinished(EvofoolError):
    """A resume of a finished run that no extended stop condition would continue."""


def should_stop(config: RunConfig, algorithm: Search, elapsed: float) -> bool:
    """Whether the first of the config's stop conditions is met after ``elapsed`` seconds of
    run time (stop_when_all_at: every class in play at that confidence)."""
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


class StopSignals:
    """While entered, SIGINT and SIGTERM only note themselves in ``received``: the run
    finishes the generation in hand and checkpoints before it stops."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        self._previous = {sig: signal.signal(sig, self._note)
                          for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _note(self, signum: int, frame: Any) -> None:
        self.received = signum
