"""Which config a run takes: a shipped one by name, a YAML file, or a dict, with overrides.

The shipped configs travel inside the package (``evofool/configs``; the top-level
``configs/`` of a checkout points there), so an installed evofool finds them by name:
``evofool.evolve(net, "mnist_direct")`` and ``evofool run mnist_direct`` alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evofool.errors import ConfigError
from evofool.run.config import RunConfig, config_from_mapping, load_config

SHIPPED = Path(__file__).parents[1] / "configs"
DEFAULT = "mnist_cppn"


def shipped_names() -> list[str]:
    return sorted(path.stem for path in SHIPPED.glob("*.yaml"))


def config_path(config: str | Path) -> Path:
    """``config`` as a file: itself where it exists, else the shipped config of that name
    (with or without ``.yaml``).

    Raises:
        ConfigError: neither.
    """
    path = Path(config)
    if path.exists():
        return path
    shipped = SHIPPED / f"{Path(str(config)).name.removesuffix('.yaml')}.yaml"
    if path.parent == Path(".") and shipped.is_file():
        return shipped
    raise ConfigError(f"config not found: {config} is no file and no shipped config "
                      f"({', '.join(shipped_names())})")


def run_config(config: str | Path | Mapping[str, Any] | None,
               values: Mapping[str, Any] | None = None, overrides: Sequence[str] = ()
               ) -> RunConfig:
    """The run config ``config`` names (None: the MNIST CPPN config) with ``values`` set
    (keys dotted for sections) and ``overrides`` (``key=value`` text, as ``--set``) applied.

    Raises:
        ConfigError: no such config, an n+1 experiment's config, or one that does not
            validate (the message names the key).
    """
    if isinstance(config, Mapping):
        return config_from_mapping(config, overrides, values)
    return load_config(config_path(DEFAULT if config is None else config), overrides, values)
