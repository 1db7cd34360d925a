"""Settings classes and how a YAML mapping becomes one, with one clear line per mistake.

Every configurable part declares its settings as a frozen dataclass beside its
own code (an encoding's in its module, an algorithm's in its); a field's type
says what it accepts, and ``positive`` / ``probability`` put the range in the
field itself. ``build_section`` turns a mapping into such a class: unknown
keys, wrong types and out-of-range values are refused with the dotted key that
holds them. Sections picked by ``type`` (encoding, algorithm) are looked up in
the ``Registry`` the field names.

Registries map a part's ``type`` name to its settings class and the factory that
builds it. Adding an encoding or a search algorithm is its own module (a settings
class beside the code, and a ``from_settings`` factory) plus one ``register`` line
in the kind's registry (evofool.encodings.registry, evofool.algorithms.registry).
The config reads sections through the registry (``chosen_from``), the run builder
builds through it (evofool.run.builder), and the contract tests run over everything
registered, a part registered from a test included.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from evofool.errors import ConfigError, quoted


@dataclass(frozen=True)
class Registered:
    """One part: ``settings`` (a frozen dataclass whose ``type`` field defaults to the part's
    name) and ``build``, which makes the part from an instance of it."""

    settings: type
    build: Callable[..., Any]


class Registry:
    """The parts of one kind, by the name a config's ``type`` key gives them."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._parts: dict[str, Registered] = {}

    def register(self, settings: type, build: Callable[..., Any]) -> None:
        """Add a part under its settings' default ``type``.

        Raises:
            ValueError: the name is taken.
        """
        name = settings.__dataclass_fields__["type"].default
        if name in self._parts:
            raise ValueError(f"{self.kind} {name!r} is registered already")
        self._parts[name] = Registered(settings, build)

    def names(self) -> list[str]:
        return list(self._parts)

    def __getitem__(self, name: str) -> Registered:
        """Raises: ConfigError naming the known parts, for an unknown name."""
        if name not in self._parts:
            raise ConfigError(f"{self.kind}.type must be one of {', '.join(self._parts)}, "
                              f"got {name!r}")
        return self._parts[name]


MAX_INT = 2**63 - 1  # what torch, NumPy and SQLite hold in an integer


class ComponentSettings:
    """What the settings class of a registered part (encoding, algorithm) offers beyond
    its fields: rules that span other sections, and what it needs of the evaluator."""

    needs_gradients: ClassVar[bool] = False  # True: scoring must stay in torch (autograd)
    uses_screen: ClassVar[bool] = False  # True: it can use evaluator.screen (MAP-Elites)
    encodings: ClassVar[frozenset[str] | None] = None  # the encoding types it serves; None: all
    classes_field: ClassVar[str | None] = None  # the field naming the classes it searches

    def among_classes(self, classes: list[int]) -> ComponentSettings:
        """These settings searching only ``classes`` of the model's outputs (the n+1
        experiment leaves its garbage class out): where ``classes_field`` is unset it
        becomes ``classes``; where set, it must name classes among them.

        Raises:
            ConfigError: a named class outside ``classes``.
        """
        named = None if self.classes_field is None else getattr(self, self.classes_field)
        if self.classes_field is None or named is None:
            return self if self.classes_field is None else dataclasses.replace(
                self, **{self.classes_field: list(classes)})
        outside = sorted(set(named) - set(classes))
        if outside:
            raise ConfigError(f"algorithm.{self.classes_field} must be among classes "
                              f"{', '.join(map(str, classes))}; {outside} are not")
        return self

    def check(self, config: Any) -> None:
        """Raise ConfigError if this section does not fit the rest of ``config``."""

    def memory_plan(self, *, genome_bytes: int, image_bytes: int, num_classes: int
                    ) -> dict[str, int]:
        """The largest allocations this part will make, in bytes, by the key that sizes
        each, so that sizes that cannot fit are refused before a run directory exists."""
        return {}


def positive(default: Any = None) -> Any:
    """A field that must be > 0 where set."""
    return field(default=default, metadata={"range": "positive"})


def probability(default: Any = None) -> Any:
    """A field that must lie in [0, 1] where set."""
    return field(default=default, metadata={"range": "probability"})


def between(low: int, high: int, default: int) -> Any:
    """An integer field that must lie in low..high."""
    return field(default=default, metadata={"range": (low, high)})


def one_of(choices: Callable[[], Sequence[str]], default: str) -> Any:
    """A string field whose allowed values a registry gives at validation time (so a part
    registered after import, from a test say, is accepted too)."""
    return field(default=default, metadata={"choices": choices})


def converted(convert: Callable[[Any, str], Any], default_factory: Callable[[], Any]) -> Any:
    """A field whose value ``convert(value, dotted_key)`` makes (and checks) itself."""
    return field(default_factory=default_factory, metadata={"convert": convert})


def chosen_from(registry: Registry, default: type) -> Any:
    """A section whose ``type`` key picks a settings class from ``registry``."""
    return field(default_factory=default, metadata={"registry": registry})


def build_section(cls: type, data: Any, path: str = "") -> Any:
    """``cls`` from a mapping, every key checked.

    Raises:
        ConfigError: not a mapping, an unknown key, a wrong type or a value out of range.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{path.rstrip('.') or 'config'} must be a mapping")
    hints = typing.get_type_hints(cls)
    fields = {item.name: item for item in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"unknown config key '{path}{unknown[0]}' "
                          f"(known: {', '.join(sorted(fields))})")
    values = {}
    for name, item in fields.items():
        if name not in data:
            continue
        key, value = f"{path}{name}", data[name]
        if "convert" in item.metadata:
            values[name] = item.metadata["convert"](value, key)
            continue
        if "registry" in item.metadata:
            values[name] = _registered(item.metadata["registry"], item.default_factory(),
                                       value, key)
            continue
        values[name] = _convert(hints[name], value, key, item.metadata.get("range"))
        if "choices" in item.metadata and values[name] not in item.metadata["choices"]():
            raise ConfigError(f"{key} must be one of {', '.join(item.metadata['choices']())}, "
                              f"got {quoted(values[name])}")
    return cls(**values)


def _registered(registry: Registry, default: Any, value: Any, key: str) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping")
    kind = value.get("type", default.type)  # no type given: the default kind
    if kind not in registry.names():
        raise ConfigError(f"{key}.type must be one of {', '.join(registry.names())}, "
                          f"got {quoted(kind)}")
    return build_section(registry[kind].settings, value, key + ".")


def _convert(hint: Any, value: Any, key: str, bounds: str | tuple | None = None) -> Any:
    """``value`` as ``hint`` says; numbers in ``bounds`` ("positive", "probability",
    (low, high)), else not negative."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        choices = [arg for arg in arguments if arg is not type(None)]
        if len(choices) == 1:
            return _convert(choices[0], value, key, bounds)
        # str | list[str]: the shape of the value picks the kind
        (choice,) = [arg for arg in choices if (typing.get_origin(arg) is list)
                     == isinstance(value, list)] or [choices[0]]
        return _convert(choice, value, key, bounds)
    if dataclasses.is_dataclass(hint):
        return build_section(hint, {} if value is None else value, key + ".")
    if origin is Literal:
        if value not in arguments:
            raise ConfigError(f"{key} must be one of {', '.join(map(str, arguments))}, "
                              f"got {quoted(value)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, got {quoted(value)}")
        return [_convert(arguments[0], item, f"{key}[{i}]", bounds)
                for i, item in enumerate(value)]
    return _scalar(hint, value, key, bounds)


def _scalar(hint: type, value: Any, key: str, bounds: str | tuple | None) -> Any:
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if hint is float and isinstance(value, str):
        try:  # YAML 1.1 reads "1e-3" as a string
            value = float(value)
        except ValueError:
            pass
    if not isinstance(value, hint) or (hint is not bool and isinstance(value, bool)):
        raise ConfigError(f"{key} must be {_describe(hint)}, got {quoted(value)}")
    if hint is float and not math.isfinite(value):  # nan passes every comparison below
        raise ConfigError(f"{key} must be a finite number, got {quoted(value)}")
    if hint is int and abs(value) > MAX_INT:  # seeds, counts and sizes go into int64
        raise ConfigError(f"{key} must be at most {MAX_INT:,}, got {quoted(value)}")
    if bounds == "positive" and value <= 0:
        raise ConfigError(f"{key} must be positive, got {quoted(value)}")
    if bounds == "probability" and not 0 <= value <= 1:
        raise ConfigError(f"{key} must be in [0, 1], got {quoted(value)}")
    if isinstance(bounds, tuple) and not bounds[0] <= value <= bounds[1]:
        raise ConfigError(f"{key} must be in {bounds[0]}..{bounds[1]}, got {quoted(value)}")
    if hint in (int, float) and value < 0:
        raise ConfigError(f"{key} must not be negative, got {quoted(value)}")
    return value


def _describe(hint: type) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        hint, hint.__name__)
