"""What `evofool ood` and `evofool defend` share: where a report goes, the confidence bar a
fooling image must meet, and stage lines on stderr."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def report_dir(out: Path | None, sets: list[str], name: str) -> Path:
    """``out``, or ``RUN_DIR/name`` when the sets are one run (where the browser looks).

    Raises:
        EvofoolError: no ``out`` and not exactly one run.
    """
    from evofool.errors import EvofoolError
    from evofool.store import is_run_dir

    if out is not None:
        return out
    if len(sets) != 1 or not is_run_dir(Path(sets[0])):
        raise EvofoolError("--out is needed unless --fooling names one run directory")
    return Path(sets[0]) / name


def check_min_confidence(value: float) -> None:
    """Raises: EvofoolError for a value outside [0, 1]."""
    from evofool.errors import EvofoolError

    if not 0 <= value <= 1:
        raise EvofoolError(f"--min-confidence must be in [0, 1], got {value}")


def stage_printer(command: str) -> Callable[[str], None]:
    """A ``say`` that prints ``evofool: COMMAND: message`` on stderr at once."""
    import sys

    def say(message: str) -> None:
        print(f"evofool: {command}: {message}", file=sys.stderr, flush=True)

    return say
