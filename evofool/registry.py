"""Registries: a part's ``type`` name -> its settings class and the factory that builds it.

Adding an encoding or a search algorithm is its own module (a settings class
beside the code, and a ``from_settings`` factory) plus one ``register`` line in
the kind's registry (evofool.encodings.registry, evofool.algorithms.registry).
The config reads sections through the registry (evofool.settings.chosen_from),
the run builder builds through it (evofool.run.builder), and the contract tests
run over everything registered, a part registered from a test included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evofool.errors import ConfigError


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
