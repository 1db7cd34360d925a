"""What a class name may be. Names enter evofool in two places, a model (checkpoint,
sidecar, the caller) and an image folder's class directories, and travel to every file
name, CSV, PNG title, page and message; both places refuse here, in one line, what some
consumer could not carry: a name that is not text, not UTF-8 (a folder name's stray
bytes), or holds a control character (a newline would cut messages and CSV rows short).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from evofool.errors import printable


def class_name_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a class name, or None when it can."""
    if not isinstance(name, str):
        return f"{type(name).__name__} {name!r:.40} is not text"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return f"{printable(name)!r} is not UTF-8 text"
    if any(unicodedata.category(character) == "Cc" for character in name):
        return f"{name!r} holds a control character"
    return None


def class_names_problem(names: Any) -> str | None:
    """Why ``names`` cannot be a model's class names (a list of class names), or None."""
    if isinstance(names, bytes) or not isinstance(names, Sequence):
        return f"class_names must be a list of names, not {type(names).__name__}"
    return next((problem for problem in map(class_name_problem, names) if problem), None)
