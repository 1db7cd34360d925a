"""What the browser reads is untrusted (a run directory someone sent, a request a hostile
page makes): JSON files and store values are taken as JSON can carry them back to a page,
numbers in paths are bounded, and a file that does not read as its command writes it
makes its run unreadable (a 422 that says so), never a 500 for the whole index.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import JSONResponse

# What reading a crafted file or store value raises besides EvofoolError: a non-integer
# in an integer column, text where a list was, NaN where JSON was, nesting past Python's
# recursion limit, an integer of more digits than int() converts.
DAMAGED = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
           RecursionError, sqlite3.Error)
MAX_DEPTH = 32  # nothing evofool writes nests deeper
LARGEST_INT = 2**63 - 1  # SQLite's largest integer; ids and counts fit


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as a page's JSON can carry it: NaN, infinities and integers beyond
    LARGEST_INT become None (JSON has no NaN; a browser would round the integer).

    Raises:
        ValueError: nested deeper than MAX_DEPTH (not what evofool writes).
    """
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value if abs(value) <= LARGEST_INT else None
    if isinstance(value, dict):
        return {str(key): plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item, depth + 1) for item in value]
    raise TypeError(f"{type(value).__name__} is not JSON")


def read_json(path: Path) -> Any | None:
    """The JSON file at ``path`` as :func:`plain` makes it; None if it is absent or does
    not read as JSON (a 5,000-digit integer, 100,000 nested lists, bytes that are not
    UTF-8 included)."""
    try:
        return plain(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, RecursionError):
        return None


class SafeJSONResponse(JSONResponse):
    """A JSON answer whose values went through :func:`plain` (a store's NaN included)."""

    def render(self, content: Any) -> bytes:
        return super().render(plain(content))


class BoundedId(Convertor):
    """A non-negative integer of at most 18 digits in a path (below SQLite's largest):
    a longer one matches no route (404) instead of reaching int()'s digit limit."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", BoundedId())
