"""Replacing a file in one step, so no reader ever sees it half written.

The browser reads run directories while runs write them, and a run killed
mid-write must leave the previous version intact: every result file is
written beside its target and renamed over it.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as is, without newline translation, or bytes) to ``path``."""
    partial = path.with_name(path.name + ".partial")
    if isinstance(data, str):
        partial.write_text(data, newline="")
    else:
        partial.write_bytes(data)
    os.replace(partial, path)
