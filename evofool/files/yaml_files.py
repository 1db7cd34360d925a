"""Config files as YAML: read strictly, overridden with ``--set key=value``.

Every config kind (a run's, an n+1 experiment's) is read here and validated by its own
settings classes (evofool.settings), so this module knows YAML and nothing of the parts.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from evofool.errors import ConfigError, quoted


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """A YAML file's top-level mapping (empty for an empty file).

    Raises:
        ConfigError: a missing or unreadable file, bad YAML, or not a mapping.
    """
    try:
        raw = yaml.load(Path(path).read_text(encoding="utf-8"),  # noqa: S506 - safe
                        Loader=StrictLoader)
    except FileNotFoundError as error:
        raise ConfigError(f"config file not found: {path}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"config {path} is not UTF-8 text (byte {error.start} is "
                          f"{error.object[error.start]:#04x})") from error
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: YAML error: {error.problem or error.context}"
                          ) from error
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read config {path}: {str(error).splitlines()[0]}") from error
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(f"config {path} must be a mapping of keys to values")
    return raw


class StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, minus two silent surprises: a key given twice (YAML keeps the
    last one without a word) is an error naming it, and a document may stand for at most
    MAX_VALUES values once its aliases are expanded (a 1 KB document of nested aliases can
    stand for billions, which anything that walks it, a message quoting it, would expand).
    """

    MAX_VALUES = 100_000
    MAX_DEPTH = 50  # a config nests a few levels; Python's recursion limit is 1,000

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None and _expanded_size(node, {}) > self.MAX_VALUES:
            raise yaml.composer.ComposerError(
                None, None, f"the document stands for more than {self.MAX_VALUES:,} values "
                "once its aliases are expanded", node.start_mark)
        return node

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Composing nests one call per level: refuse a document deeper than MAX_DEPTH
        before it reaches the recursion limit (a 5,000-deep list would)."""
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > self.MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"the document nests deeper than {self.MAX_DEPTH} levels",
                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {quoted(key)}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many nodes ``node`` stands for with every alias expanded (memoised by node: an
    alias is the same node object as its anchor)."""
    if id(node) not in sizes:
        sizes[id(node)] = 0  # a recursive alias counts once, not forever
        children = node.value if isinstance(node.value, list) else []
        sizes[id(node)] = 1 + sum(
            _expanded_size(child, sizes) for item in children
            for child in (item if isinstance(item, tuple) else (item,)))
    return sizes[id(node)]


def override_dict(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of ``raw`` with ``key=value`` overrides applied (dotted keys for sections)."""
    raw = copy.deepcopy(raw)
    for override in overrides:
        _apply_override(raw, override)
    return raw


def set_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``raw`` with ``values`` set, keys dotted for sections: the overrides of the
    Python API (``evofool.evolve(..., generations=5)``), which come as objects, not text."""
    raw = copy.deepcopy(raw)
    for key, value in values.items():
        _set(raw, key, copy.deepcopy(value))
    return raw


def _apply_override(raw: dict[str, Any], override: str) -> None:
    key, separator, text = override.partition("=")
    if not separator or not key:
        raise ConfigError(f"--set needs key=value, got {override!r}")
    try:
        value = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - safe
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {key}: cannot read value {quoted(text)}") from error
    _set(raw, key, value)


def _set(raw: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{key}: {part} is not a section")
    node[leaf] = value
