"""Run configuration: YAML in, validated dataclasses out, one clear line per mistake.

A config names the model, the seed, when to stop, and one ``encoding``,
``algorithm`` and ``evaluator`` section; ``type`` picks the kind of encoding
and algorithm. ``--set key=value`` overrides any key, dotted for nested ones
(``--set encoding.mutation_rate=0.05``); values are read as YAML scalars.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from evofool.algorithms.map_elites import MapElitesSettings
from evofool.algorithms.registry import ALGORITHMS
from evofool.defenses.base import DefenseSettings
from evofool.defenses.chain import defense_settings
from evofool.defenses.ten_crop import TenCropSettings
from evofool.encodings.cppn.encoding import CppnSettings
from evofool.encodings.registry import ENCODINGS
from evofool.engines.registry import exact_choices, screen_choices
from evofool.errors import ConfigError, quoted
from evofool.ood.detectors import GATE_DETECTORS
from evofool.settings import (
    build_section,
    chosen_from,
    converted,
    one_of,
    positive,
    probability,
)


@dataclass(frozen=True)
class DetectorSettings:
    """Evolve past an OOD detector: a child counts for a class only where the detector,
    thresholded to keep ``tpr`` of ``threshold_on``'s images, keeps it (evofool.ood.gate)."""

    type: Literal[GATE_DETECTORS] = "mahalanobis"
    fit_on: str = "mnist-train"  # natural images feature detectors are fit on
    fit_images: int = positive(20000)
    threshold_on: str = "mnist-test"
    tpr: float = probability(0.95)


@dataclass(frozen=True)
class ScreenSettings:
    """Score every child on a cheap engine and only the ones that could take a cell on the
    exact one (evofool.evaluation.screen). auto: of the engines that are not exact and that a
    timing shows pay here, the most faithful (openvino-bf16 where the processor computes in
    bf16, else onnxruntime-int8; ``choose_screen``), else no screen; also none where a
    screen cannot serve the run (``screen_blocker``), where a named engine is refused."""

    engine: str = one_of(screen_choices, "auto")
    # log-odds added to a screened score; None: the screening engine's own (its measured
    # error: 0.5 for bf16, 2.0 for int8; benchmarks/screen.py)
    margin: float | None = positive(None)
    audit_every: int | None = positive(50)  # generations between all-exact audits
    # pays: screen a generation only where the last one says it costs less than scoring
    # every child exactly; always: screen every generation
    when: Literal["pays", "always"] = "pays"


def _defenses(value: Any, key: str) -> list[DefenseSettings]:
    if not isinstance(value, list):
        raise ConfigError(f"{key} must be a list of defences, got {quoted(value)}")
    return [defense_settings(item, f"{key}[{index}]") for index, item in enumerate(value)]


@dataclass(frozen=True)
class EvaluatorSettings:
    device: str = "auto"
    max_batch: int = positive(1024)
    amp: bool = False
    combine: Literal["min", "mean"] = "min"  # fitness over several models (see RunConfig.model)
    ten_crop: bool = False  # the paper's ImageNet fitness: 10 crops, softmax averaged
    backend: Literal["local", "ray"] = "local"  # ray: score on Ray actors (evofool[ray])
    # what runs the network (evofool.engines.registry); auto: the fastest exact one here
    engine: str = one_of(exact_choices, "auto")
    ray_address: str | None = None  # an existing cluster ("auto", "ray://host:10001"); None: local
    ray_actors: int = positive(2)  # scoring actors
    ray_gpus_per_actor: float = 0.0  # 1: one GPU per actor
    detector: DetectorSettings | None = None  # evolve past this OOD detector (evofool[ood])
    screen: ScreenSettings | None = None  # screen children on a cheap engine (MAP-Elites)
    # input defences the model is scored through, in order (evofool.defenses)
    defenses: list = converted(_defenses, list)

    @property
    def defense_chain(self) -> list[DefenseSettings]:
        """``defenses``, after ten-crop where ``ten_crop`` asks for it (its older spelling)."""
        ten_crop = [TenCropSettings()] if self.ten_crop and not any(
            item.type == "ten_crop" for item in self.defenses) else []
        return ten_crop + list(self.defenses)


@dataclass(frozen=True)
class CheckpointSettings:
    every_generations: int | None = positive(100)
    every_seconds: float | None = positive(120.0)  # a kill loses at most ~2 min (BENCHMARKS.md)
    keep: int = positive(3)


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
    generations: int | None = positive()
    evaluations: int | None = positive()
    wall_seconds: float | None = positive()
    stop_when_all_at: float | None = probability()  # stop once every class is this confident
    encoding: Any = chosen_from(ENCODINGS, CppnSettings)  # any registered encoding's settings
    algorithm: Any = chosen_from(ALGORITHMS, MapElitesSettings)
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
    gate, Ray's shards) or scores something else than the screen saw (defences) cannot."""
    evaluator = config.evaluator
    if not config.algorithm.uses_screen:
        return (f"evaluator.screen works with algorithm.type map_elites, not "
                f"{config.algorithm.type} (it needs every child's exact score)")
    if evaluator.detector is not None:
        return ("evaluator.screen and evaluator.detector cannot be combined: the detector "
                "gates every child on its exact score")
    if evaluator.backend != "local":
        return "evaluator.screen runs with evaluator.backend local only"
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


def _apply_override(raw: dict[str, Any], override: str) -> None:
    key, separator, text = override.partition("=")
    if not separator or not key:
        raise ConfigError(f"--set needs key=value, got {override!r}")
    try:
        value = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - safe
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {key}: cannot read value {quoted(text)}") from error
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {part} is not a section")
    node[leaf] = value
