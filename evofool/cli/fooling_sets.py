"""What `evofool ood` and `evofool defend` share: where a report goes."""

from __future__ import annotations

from pathlib import Path


def report_dir(out: Path | None, sets: list[str], name: str) -> Path:
    """``out``, or ``RUN_DIR/name`` when the sets are one run (where the browser looks).

    Raises:
        EvofoolError: no ``out`` and not exactly one run.
    """
    from evofool.api.analyses import report_dir as written_to  # torch: only when used
    from evofool.errors import EvofoolError

    if (where := written_to(out, sets, name)) is None:
        raise EvofoolError("--out is needed unless --fooling names one run directory")
    return where
