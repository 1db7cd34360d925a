"""The configuration reference, generated from the settings classes, so it cannot drift.

Every key of a run config and of an n+1 experiment config is a field of a settings class
(evofool.settings); its type, default and range come from the field, and its help from the
comment on the field's line (or the comment lines right above it), where it sits beside the
code that reads it. ``missing_help`` lists the fields without one (a test keeps it empty);
the documentation site renders ``markdown()`` (docs/hooks.py).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import textwrap
import tokenize
import typing
from typing import Any, NamedTuple

from evofool.n_plus_one.config import RetrainConfig
from evofool.run.config import RunConfig


class Key(NamedTuple):
    """One config key as the reference shows it."""

    key: str
    type: str
    default: str
    range: str
    help: str


def sections() -> list[tuple[str, type]]:
    """(dotted prefix, settings class) for every section, in reading order: a run config's
    sections, each registered encoding and algorithm (under its ``type``), then an n+1
    experiment's."""
    found: list[tuple[str, type]] = []

    def walk(prefix: str, cls: type) -> None:
        if any(cls is seen for _, seen in found):  # an n+1 experiment's evolution: a run's
            return
        found.append((prefix, cls))
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            registry = field.metadata.get("registry")
            if registry is not None:
                for name in registry.names():
                    walk(f"{prefix}{field.name} (type: {name}).", registry[name].settings)
                continue
            kind = hints[field.name]
            for part in (*typing.get_args(kind), kind):
                if dataclasses.is_dataclass(part) and part is not cls:
                    walk(f"{prefix}{field.name}.", part)

    walk("", RunConfig)
    walk("n+1: ", RetrainConfig)
    return found


def keys(cls: type) -> list[Key]:
    """The fields of one settings class (sections as their own entries, not expanded)."""
    helps = {name: text for base in reversed(cls.__mro__) if dataclasses.is_dataclass(base)
             for name, text in _field_comments(base).items() if text}
    hints = typing.get_type_hints(cls)
    return [Key(field.name, _type_name(hints[field.name]), _default(field), _range(field),
                helps.get(field.name, "")) for field in dataclasses.fields(cls)]


def missing_help() -> list[str]:
    return [f"{cls.__qualname__}.{key.key}" for _, cls in sections() for key in keys(cls)
            if not key.help]


def markdown() -> str:
    """The reference page: one table per section."""
    out = ["# Configuration reference", "",
           "Every key a config takes, generated from the settings classes as the site builds. "
           "Set one in YAML, with `--set key=value` (dotted for sections: "
           "`--set encoding.mutation_rate=0.05`), or as a keyword of `evofool.evolve` "
           "(`generations=50`, `**{\"evaluator.engine\": \"torch\"}`). A section picked by "
           "`type` takes the keys of that type only.", ""]
    for prefix, cls in sections():
        title = {"": "run config (top level)", "n+1: ": "n+1 experiment config (top level)"
                 }.get(prefix, prefix.rstrip("."))
        out += [f"## `{title}`", "", _summary(cls), "",
                "| key | type | default | range | what it does |", "|---|---|---|---|---|"]
        out += [f"| `{key.key}` | {key.type} | {key.default} | {key.range} | {key.help} |"
                for key in keys(cls)]
        out.append("")
    return "\n".join(out)


def _field_comments(cls: type) -> dict[str, str]:
    """Each field's help: the comment ending its line, else the comment lines right above it
    (a section's ``type`` says itself what it picks)."""
    source = textwrap.dedent(inspect.getsource(cls))
    trailing, standalone = {}, {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            text = token.string.lstrip("#").strip()
            own_line = token.line.strip().startswith("#")
            (standalone if own_line else trailing)[token.start[0]] = text
    helps = {}
    for node in ast.parse(source).body[0].body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            line, above = node.lineno, []
            while line - 1 in standalone:
                line -= 1
                above.insert(0, standalone[line])
            helps[node.target.id] = trailing.get(node.lineno) or " ".join(above)
    if "type" in helps and not helps["type"]:
        helps["type"] = "which kind this section is: its keys are the ones below"
    return helps


def _summary(cls: type) -> str:
    """The class docstring's first paragraph, unless it is the one dataclasses writes."""
    doc = inspect.getdoc(cls) or ""
    return "" if doc.startswith(f"{cls.__name__}(") else doc.split("\n\n")[0]


def _type_name(kind: Any) -> str:
    text = getattr(kind, "__name__", None) if not typing.get_args(kind) else None
    return f"`{text or str(kind).replace('typing.', '')}`".replace(" | ", " or ")


def _default(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
        if dataclasses.is_dataclass(value):
            return "(section)"
    else:
        return "required"
    return f"`{value!r}`".replace("|", "/")


def _range(field: dataclasses.Field) -> str:
    bounds = field.metadata.get("range")
    if bounds == "positive":
        return "> 0"
    if bounds == "probability":
        return "0..1"
    if isinstance(bounds, tuple):
        return f"{bounds[0]}..{bounds[1]}"
    choices = field.metadata.get("choices")
    return ", ".join(f"`{choice}`" for choice in choices()) if choices else ""
