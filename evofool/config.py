"""Run configuration: YAML in, validated dataclasses out, one clear line per mistake.

A config names the model, the seed, when to stop, and one ``encoding``,
``algorithm`` and ``evaluator`` section; ``type`` picks the kind of encoding
and algorithm. ``--set key=value`` overrides any key, dotted for nested ones
(``--set encoding.mutation_rate=0.05``); values are read as YAML scalars.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from evofool.errors import EvofoolError


class ConfigError(EvofoolError):
    """A config that does not validate; the message names the key."""


@dataclass(frozen=True)
class DirectSettings:
    type: Literal["direct"] = "direct"
    height: int | None = None  # None: the model's input size
    width: int | None = None
    mutation_rate: float = 0.1
    halving_generations: int | None = 1000  # None: a constant rate, as the original code
    eta: float = 15.0
    crossover_rate: float = 0.0
    crossover_eta: float = 10.0


@dataclass(frozen=True)
class CppnSettings:
    type: Literal["cppn"] = "cppn"
    height: int | None = None
    width: int | None = None
    max_hidden: int = 32
    weight_bound: float = 10.0  # 3.0 in the faithful preset; see CppnEncoding
    eta: float = 30.0  # 15.0 in the faithful preset
    add_connection: float = 0.5
    delete_connection: float = 0.3
    add_node: float = 0.5
    delete_node: float = 0.2
    weight_rate: float = 0.1
    activation_rate: float = 0.1


@dataclass(frozen=True)
class MapElitesSettings:
    type: Literal["map_elites"] = "map_elites"
    batch_size: int = 200
    classes: list[int] | None = None  # cells for these classes only; None: every class
    # Stepping stones: also keep the best genome per (class, band of mean brightness) and
    # draw parents from those cells. 1: the paper's one cell per class. See MapElites.
    brightness_bins: int = 1


@dataclass(frozen=True)
class GeneticSettings:
    type: Literal["ga"] = "ga"
    targets: list[int] = field(default_factory=lambda: [0])
    population: int = 100
    offspring: int = 100
    selection: Literal["tournament", "truncation"] = "tournament"
    tournament_size: int = 3
    truncation_fraction: float = 0.5
    elites: int = 1


@dataclass(frozen=True)
class AscentSettings:
    """Gradient ascent from noise, the paper's comparison (section 3.4); needs direct encoding.

    One generation is ``steps_per_generation`` Adam steps for every target at
    once; the archive (and the store) sees the images at the end of each.
    """

    type: Literal["ascent"] = "ascent"
    targets: list[int] | None = None  # None: every class
    learning_rate: float = 0.05
    l2_decay: float = 0.001  # pulls pixels toward mid-grey, the analogue of a zero-mean image
    steps_per_generation: int = 10


@dataclass(frozen=True)
class DetectorSettings:
    """Evolve past an OOD detector: a child counts for a class only where the detector,
    thresholded to keep ``tpr`` of ``threshold_on``'s images, keeps it (evofool.ood.gate)."""

    type: Literal["msp", "maxlogit", "energy", "entropy", "mahalanobis", "vim", "knn"] = \
        "mahalanobis"
    fit_on: str = "mnist-train"  # natural images feature detectors are fit on
    fit_images: int = 20000
    threshold_on: str = "mnist-test"
    tpr: float = 0.95


@dataclass(frozen=True)
class EvaluatorSettings:
    device: str = "auto"
    max_batch: int = 1024
    amp: bool = False
    combine: Literal["min", "mean"] = "min"  # fitness over several models (see RunConfig.model)
    ten_crop: bool = False  # the paper's ImageNet fitness: 10 crops, softmax averaged
    backend: Literal["local", "ray"] = "local"  # ray: score on Ray actors (evofool[ray])
    # what runs the network; auto: ONNX Runtime on CPU where installed, exact and faster
    engine: Literal["auto", "torch", "onnxruntime"] = "auto"
    ray_address: str | None = None  # an existing cluster ("auto", "ray://host:10001"); None: local
    ray_actors: int = 2  # scoring actors
    ray_gpus_per_actor: float = 0.0  # 1: one GPU per actor
    detector: DetectorSettings | None = None  # evolve past this OOD detector (evofool[ood])


@dataclass(frozen=True)
class CheckpointSettings:
    every_generations: int | None = 100
    every_seconds: float | None = 120.0  # a kill loses at most ~2 minutes (BENCHMARKS.md)
    keep: int = 3


@dataclass(frozen=True)
class StoreSettings:
    """What ``run.sqlite`` keeps of champions that were replaced (see evofool.store.history).

    all: every replaced champion's exact genome. milestones: current champions exact;
    a replaced one keeps an 8-bit image only if it was its class's first at a
    confidence milestone (0.9, 0.99, ...), the others keep their lineage only.
    auto: milestones for genomes over 64 KiB (ImageNet direct), else all.
    """

    history: Literal["auto", "all", "milestones"] = "auto"


@dataclass(frozen=True)
class RunConfig:
    name: str = "run"
    model: str | list[str] = "mnist-lenet"  # a list: fool all at once (evaluator.combine)
    seed: int = 0
    generations: int | None = None
    evaluations: int | None = None
    wall_seconds: float | None = None
    stop_when_all_at: float | None = None  # stop once every class reaches this confidence
    encoding: DirectSettings | CppnSettings = field(default_factory=CppnSettings)
    algorithm: MapElitesSettings | GeneticSettings | AscentSettings = field(
        default_factory=MapElitesSettings)
    evaluator: EvaluatorSettings = field(default_factory=EvaluatorSettings)
    checkpoint: CheckpointSettings = field(default_factory=CheckpointSettings)
    store: StoreSettings = field(default_factory=StoreSettings)

    @property
    def model_specs(self) -> list[str]:
        return [self.model] if isinstance(self.model, str) else list(self.model)

    @property
    def model_label(self) -> str:
        """The model spec, or several joined with "+", for records and messages."""
        return "+".join(self.model_specs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_POSITIVE = {"generations", "evaluations", "wall_seconds", "batch_size", "population",
             "offspring", "tournament_size", "max_batch", "max_hidden", "height", "width",
             "every_generations", "every_seconds", "keep", "learning_rate", "ray_actors",
             "steps_per_generation", "brightness_bins", "fit_images"}
_PROBABILITIES = {"mutation_rate", "crossover_rate", "add_connection", "delete_connection",
                  "add_node", "delete_node", "weight_rate", "activation_rate",
                  "truncation_fraction", "stop_when_all_at", "tpr"}


def load_config(path: Path, overrides: list[str] = ()) -> RunConfig:
    """Read, override and validate a YAML config.

    Raises:
        ConfigError: unreadable YAML, unknown key, wrong type or out-of-range value.
    """
    raw = read_yaml_mapping(path)
    if "rounds" in raw and "evolution" in raw:
        raise ConfigError(f"{path} is an n+1 (retrain) experiment config; run it with "
                          f"`evofool retrain {path}`")
    return config_from_dict(override_dict(raw, overrides))


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """A YAML file's top-level mapping (empty for an empty file).

    Raises:
        ConfigError: a missing or unreadable file, bad YAML, or not a mapping.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError as error:
        raise ConfigError(f"config file not found: {path}") from error
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: YAML syntax error: {error.problem or error.context}"
                          ) from error
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read config {path}: {str(error).splitlines()[0]}") from error
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(f"config {path} must be a mapping of keys to values")
    return raw


def override_dict(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of ``raw`` with ``key=value`` overrides applied (dotted keys for sections)."""
    raw = copy.deepcopy(raw)
    for override in overrides:
        _apply_override(raw, override)
    return raw


def config_from_dict(raw: dict[str, Any]) -> RunConfig:
    return validate_run_config(_build(RunConfig, raw, ""))


def build_section(cls: type, raw: Any, path: str = "") -> Any:
    """A config dataclass of any kind from a mapping, with the same checks as a run config."""
    return _build(cls, raw, path)


def validate_run_config(config: RunConfig) -> RunConfig:
    """The checks that span several keys of a run config."""
    if not config.model_specs:
        raise ConfigError("model must name at least one model")
    if not any(value is not None for value in (config.generations, config.evaluations,
                                               config.wall_seconds, config.stop_when_all_at)):
        raise ConfigError("config sets no stop condition: set generations, evaluations, "
                          "wall_seconds or stop_when_all_at")
    algorithm = config.algorithm
    if isinstance(algorithm, GeneticSettings):
        if not algorithm.targets:
            raise ConfigError("algorithm.targets must name at least one class")
        if not 0 <= algorithm.elites < algorithm.population:
            raise ConfigError("algorithm.elites must be in [0, population)")
        if algorithm.offspring < algorithm.population - algorithm.elites:
            raise ConfigError("algorithm.offspring must be at least population - elites")
    elif isinstance(algorithm, AscentSettings):
        if not isinstance(config.encoding, DirectSettings):
            raise ConfigError("algorithm.type ascent changes pixels directly: it needs "
                              "encoding.type direct")
        if algorithm.targets is not None and not algorithm.targets:
            raise ConfigError("algorithm.targets must name at least one class (or be null)")
        if config.evaluator.backend != "local":
            raise ConfigError("algorithm.type ascent needs gradients: set evaluator.backend: "
                              "local")
        if config.evaluator.engine == "onnxruntime":
            raise ConfigError("algorithm.type ascent needs gradients, which only torch gives: "
                              "set evaluator.engine: torch (or auto)")
        if config.evaluator.detector is not None:
            raise ConfigError("evaluator.detector works with evolution (map_elites, ga), not "
                              "algorithm.type ascent")
    elif algorithm.classes is not None and not algorithm.classes:
        raise ConfigError("algorithm.classes must name at least one class (or be null)")
    return config


def _apply_override(raw: dict[str, Any], override: str) -> None:
    key, separator, text = override.partition("=")
    if not separator or not key:
        raise ConfigError(f"--set needs key=value, got {override!r}")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {key}: cannot read value {text!r}") from error
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {part} is not a section")
    node[leaf] = value


def _build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{path.rstrip('.') or 'config'} must be a mapping")
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise ConfigError(f"unknown config key '{path}{unknown[0]}' "
                          f"(known: {', '.join(sorted(hints))})")
    values = {}
    for name in hints:
        if name not in data:
            continue
        value, hint = data[name], hints[name]
        default = getattr(cls(), name)
        if isinstance(value, dict) and "type" not in value and _is_section_choice(hint) \
                and default is not None:
            hint = type(default)  # no type given: refine the default kind
        values[name] = _convert(hint, value, f"{path}{name}", name)
    return cls(**values)


def _is_section_choice(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and any(
        dataclasses.is_dataclass(arg) for arg in typing.get_args(hint))


def _convert(hint: Any, value: Any, key: str, name: str) -> Any:
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        sections = [arg for arg in arguments if dataclasses.is_dataclass(arg)]
        if sections:
            return _build_section(sections, value, key)
        choices = [arg for arg in arguments if arg is not type(None)]
        if len(choices) == 1:
            return _convert(choices[0], value, key, name)
        # str | list[str]: the shape of the value picks the kind
        (choice,) = [arg for arg in choices if (typing.get_origin(arg) is list)
                     == isinstance(value, list)] or [choices[0]]
        return _convert(choice, value, key, name)
    if dataclasses.is_dataclass(hint):
        return _build(hint, {} if value is None else value, key + ".")
    if origin is Literal:
        if value not in arguments:
            raise ConfigError(f"{key} must be one of {', '.join(map(str, arguments))}, "
                              f"got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        return [_convert(arguments[0], item, f"{key}[{i}]", name) for i, item in enumerate(value)]
    return _scalar(hint, value, key, name)


def _build_section(kinds: list[type], value: Any, key: str) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping")
    if len(kinds) == 1:  # one kind, whose type is a setting of its own
        return _build(kinds[0], value, key + ".")
    by_type = {kind.__dataclass_fields__["type"].default: kind for kind in kinds}
    kind = value.get("type")
    if kind not in by_type:
        raise ConfigError(f"{key}.type must be one of {', '.join(by_type)}, got {kind!r}")
    return _build(by_type[kind], value, key + ".")


def _scalar(hint: type, value: Any, key: str, name: str) -> Any:
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if hint is float and isinstance(value, str):
        try:  # YAML 1.1 reads "1e-3" as a string
            value = float(value)
        except ValueError:
            pass
    if not isinstance(value, hint) or (hint is not bool and isinstance(value, bool)):
        raise ConfigError(f"{key} must be {_describe(hint)}, got {value!r}")
    if name in _POSITIVE and value <= 0:
        raise ConfigError(f"{key} must be positive, got {value!r}")
    if name in _PROBABILITIES and not 0 <= value <= 1:
        raise ConfigError(f"{key} must be in [0, 1], got {value!r}")
    if hint in (int, float) and value < 0:
        raise ConfigError(f"{key} must not be negative, got {value!r}")
    return value


def _describe(hint: type) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        hint, hint.__name__)
