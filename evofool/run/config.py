"""A run's config: the sections each part defines beside its code, composed and checked.

A config names the model, the seed, when to stop, and one ``encoding``,
``algorithm`` and ``evaluator`` section (evofool.evaluation.settings), plus
``checkpoint`` (evofool.run.checkpoints) and ``store`` (evofool.store.history);
``type`` picks the kind of encoding and algorithm through its registry. YAML is
read by evofool.files.yaml_files; ``--set key=value`` overrides any key, dotted for
nested ones (``--set encoding.mutation_rate=0.05``). What is checked here spans
several sections; each section checks its own keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evofool.algorithms.map_elites import MapElitesSettings
from evofool.algorithms.registry import ALGORITHMS
from evofool.encodings.cppn.encoding import CppnSettings
from evofool.encodings.registry import ENCODINGS
from evofool.errors import ConfigError, quoted
from evofool.evaluation.settings import EvaluatorSettings
from evofool.files.yaml_files import override_dict, read_yaml_mapping, set_values
from evofool.run.checkpoints import CheckpointSettings
from evofool.settings import build_section, chosen_from, positive, probability
from evofool.store.history import StoreSettings


@dataclass(frozen=True)
class RunConfig:
    name: str = "run"  # the run directory's name under runs/ (NAME-TIMESTAMP)
    model: str | list[str] = "mnist-lenet"  # a list: fool all at once (evaluator.combine)
    seed: int = 0  # the one seed every random draw of the run comes from
    # stop conditions: the first one met stops the run; resume --set may move them
    generations: int | None = positive()
    evaluations: int | None = positive()  # exact scores, all children counted
    wall_seconds: float | None = positive()  # run time, resumed parts added
    stop_when_all_at: float | None = probability()  # stop once every class is this confident
    encoding: Any = chosen_from(ENCODINGS, CppnSettings)  # any registered encoding's settings
    algorithm: Any = chosen_from(ALGORITHMS, MapElitesSettings)  # any registered algorithm's
    evaluator: EvaluatorSettings = field(default_factory=EvaluatorSettings)  # how to score
    checkpoint: CheckpointSettings = field(default_factory=CheckpointSettings)  # when
    store: StoreSettings = field(default_factory=StoreSettings)  # what run.sqlite keeps

    @property
    def model_specs(self) -> list[str]:
        return [self.model] if isinstance(self.model, str) else list(self.model)

    @property
    def model_label(self) -> str:
        """The model spec, or several joined with "+", for records and messages."""
        return "+".join(self.model_specs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: Path, overrides: Sequence[str] = (),
                values: Mapping[str, Any] | None = None) -> RunConfig:
    """Read, override and validate a YAML config.

    Raises:
        ConfigError: unreadable YAML, unknown key, wrong type or out-of-range value.
    """
    return config_from_mapping(read_yaml_mapping(path), overrides, values, where=str(path))


def config_from_mapping(raw: Mapping[str, Any], overrides: Sequence[str] = (),
                        values: Mapping[str, Any] | None = None, *,
                        where: str = "the config") -> RunConfig:
    """A config's mapping with ``values`` set (objects, keys dotted for sections: the Python
    API's) and ``overrides`` applied (``key=value`` text: ``--set``), validated."""
    if "rounds" in raw and "evolution" in raw:
        raise ConfigError(f"{where} is an n+1 (retrain) experiment config; run it with "
                          "`evofool retrain` (evofool.retrain from Python)")
    return config_from_dict(override_dict(set_values(dict(raw), dict(values or {})),
                                          list(overrides)))


def config_from_dict(raw: dict[str, Any]) -> RunConfig:
    return validate_run_config(build_section(RunConfig, raw))


def validate_run_config(config: RunConfig) -> RunConfig:
    """The checks that span several keys of a run config."""
    check_run_name(config.name)
    if not config.model_specs:
        raise ConfigError("model must name at least one model")
    if not any(value is not None for value in (config.generations, config.evaluations,
                                               config.wall_seconds, config.stop_when_all_at)):
        raise ConfigError("config sets no stop condition: set generations, evaluations, "
                          "wall_seconds or stop_when_all_at")
    config.encoding.check(config)
    served = config.algorithm.encodings
    if served is not None and config.encoding.type not in served:
        raise ConfigError(f"algorithm.type {config.algorithm.type} needs encoding.type "
                          f"{' or '.join(sorted(served))}, not {config.encoding.type}")
    config.algorithm.check(config)
    _check_screen(config)
    _check_defenses(config)
    return config


def _check_defenses(config: RunConfig) -> None:
    """Defences change what every child is scored by: what cannot follow refuses them."""
    evaluator = config.evaluator
    if not evaluator.defenses:
        return
    if config.algorithm.needs_gradients:
        raise ConfigError(f"evaluator.defenses cannot be used with algorithm.type "
                          f"{config.algorithm.type}: JPEG, median and bit depth have no "
                          "gradient")
    if evaluator.detector is not None:
        raise ConfigError("evaluator.detector and evaluator.defenses cannot be combined yet: "
                          "the detector scores the undefended image")


def _check_screen(config: RunConfig) -> None:
    """A screen named by its engine refuses what it cannot serve (``screen_blocker``);
    ``auto`` stays off there instead (evofool.run.builder says so), so a config that
    screens by default still takes a GA, a detector, Ray or defences."""
    screen = config.evaluator.screen
    if screen is None or screen.engine == "auto":
        return
    blocker = screen_blocker(config)
    if blocker is not None:
        raise ConfigError(blocker)


def screen_blocker(config: RunConfig) -> str | None:
    """Why this config cannot be screened, or None: a screen decides which children are
    scored exactly, so what needs every child's exact score (a GA's selection, a detector's
    gate) or scores something else than the screen saw (defences) cannot."""
    evaluator = config.evaluator
    if not config.algorithm.uses_screen:
        return (f"evaluator.screen works with algorithm.type map_elites, not "
                f"{config.algorithm.type} (it needs every child's exact score)")
    if evaluator.detector is not None:
        return ("evaluator.screen and evaluator.detector cannot be combined: the detector "
                "gates every child on its exact score")
    if evaluator.defenses:
        return ("evaluator.screen and evaluator.defenses cannot be combined: the screen's "
                "engine would score the undefended image")
    return None


def check_run_name(name: str) -> None:
    """A run's name becomes its directory's name under runs/: one path component, or the
    run would land outside runs/ (``../x``, ``/tmp/x``) or nested where the browser does
    not look (``a/b``).

    Raises:
        ConfigError: a name that is not one plain path component.
    """
    if (not name or name in (".", "..") or name.startswith("-") or len(name) > 100
            or any(character in name for character in "/\\\0")):
        raise ConfigError(f"name must be one plain file name (no '/', '\\', '..', at most "
                          f"100 characters), got {quoted(name)}")


