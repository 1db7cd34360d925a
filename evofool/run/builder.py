"""Build a run's parts from its config: classifier, gate, screen, encoding, evaluator,
algorithm (``build_run`` builds them all), and which engines a resumed run keeps."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from evofool.algorithms import ALGORITHMS, Search
from evofool.defenses import DefenseChain
from evofool.encodings import Encoding, encoding_for_shape
from evofool.engines.registry import engine_named
from evofool.engines.selection import (
    SCREEN_PAYS,
    choose_screen,
    engine_seconds,
    screen_cost_ratio,
)
from evofool.errors import ConfigError
from evofool.evaluation import LocalEvaluator
from evofool.evaluation.devices import check_memory_plan, resolve_device
from evofool.evaluation.scorer import chunk_size, scorer_for
from evofool.evaluation.screen import SCREEN_OFF, Screen
from evofool.models import Classifier, ClassifierEnsemble, default_lenet_path, load_classifiers
from evofool.models.fingerprint import model_fingerprint
from evofool.randomness import RunRandomness
from evofool.run.config import RunConfig, screen_blocker
from evofool.store.layout import DETECTOR_FILE
from evofool.training import train_mnist_lenet

if TYPE_CHECKING:
    from evofool.evaluation.ray import RayEvaluator
    from evofool.ood.gate import DetectorGate


class RunParts(NamedTuple):
    """What a run is made of; ``fingerprint`` is the model's (evofool.models.fingerprint)."""

    gate: DetectorGate | None
    screen: Screen | None
    encoding: Encoding
    evaluator: LocalEvaluator | RayEvaluator
    algorithm: Search
    fingerprint: str


def build_run(config: RunConfig, run_dir: Path, *, resuming: bool, engine: str | None = None,
              screen_engine: str | None = None) -> RunParts:
    """Every part of a run; ``engine`` and ``screen_engine``: what a resumed run keeps
    (``engines_on_resume``), None to choose."""
    classifier = build_classifier(config)
    gate = build_gate(config, classifier, run_dir, resuming=resuming)
    screen = build_screen(config, classifier, engine=screen_engine)
    encoding = build_encoding(config, classifier)
    evaluator = build_evaluator(config, classifier, encoding, engine=engine, gate=gate,
                                  screen=screen)
    return RunParts(gate, screen, encoding, evaluator,
                    build_algorithm(config, encoding, evaluator), model_fingerprint(classifier))


def engines_on_resume(recorded: RunConfig, config: RunConfig, engine: str | None,
                      screen_engine: str | None) -> tuple[str | None, str | None]:
    """The exact and screening engines a resumed run scores with: the ones it recorded
    (torch before engines existed; SCREEN_OFF where its screen was off), unless the
    resume's config names others, since a fresh ``auto`` choice could change its numbers."""
    exact = None if config.evaluator.engine != recorded.evaluator.engine else engine or "torch"
    screen, before = config.evaluator.screen, recorded.evaluator.screen
    screening = None if screen is None or (before is not None and screen.engine != before.engine) \
        else screen_engine
    return exact, screening


def screen_record(config: RunConfig, screen: Screen | None) -> str | None:
    """What a run's store records of its screen: the engine, SCREEN_OFF where one was
    configured but none paid here, None where none was configured."""
    if screen is not None:
        return screen.engine
    return None if config.evaluator.screen is None else SCREEN_OFF


def build_classifier(config: RunConfig) -> Classifier | ClassifierEnsemble:
    """Load the config's model(s); the default LeNet is trained first if it does not exist yet."""
    if "mnist-lenet" in config.model_specs and not default_lenet_path().exists():
        print(f"evofool: no trained LeNet at {default_lenet_path()}; training it first "
              "(about 90 s on 2 cores)", file=sys.stderr)
        result = train_mnist_lenet(default_lenet_path())
        print(f"evofool: trained LeNet: test accuracy {result.test_accuracy:.4f}, "
              f"saved to {result.path}", file=sys.stderr)
    return load_classifiers(config.model_specs, config.evaluator.combine)


def build_screen(config: RunConfig, classifier: Classifier | ClassifierEnsemble, *,
                 engine: str | None = None) -> Screen | None:
    """The run's screen (``evaluator.screen``), or None: not configured, or ``auto`` found no
    engine here that pays (it says so).

    ``engine`` is what a resumed run recorded (SCREEN_OFF: none).
    """
    settings = config.evaluator.screen
    if settings is None or engine == SCREEN_OFF:
        return None
    evaluator_settings = config.evaluator
    device = resolve_device(evaluator_settings.device)
    name = engine or settings.engine
    if name == "auto":
        blocker = screen_blocker(config)  # decided before the model is read
        if blocker is not None:
            print(f"evofool: evaluator.screen: auto stays off: {blocker}", file=sys.stderr)
            return None
    # the engines' timing (once, cached): what auto chooses from, what the decisions weigh
    batch = chunk_size(evaluator_settings.max_batch, _copies(config, classifier))
    if name != "auto":
        seconds = engine_seconds(classifier, device, batch, also=name)
    else:
        seconds = engine_seconds(classifier, device, batch) if device.type == "cpu" else None
        name = None if seconds is None else choose_screen(seconds)  # a GPU's forward is cheap
        if name is None:
            print("evofool: evaluator.screen: no screening engine pays here (OpenVINO bf16 "
                  "needs avx512_bf16 or amx_bf16, and a timing must find it "
                  f"{SCREEN_PAYS:g}x the exact engine); scoring every child exactly",
                  file=sys.stderr)
            return None
    cost_ratio = screen_cost_ratio(seconds, name)
    rule = "every generation is screened" if settings.when == "always" else \
        f"a generation is screened where fewer than {1 - cost_ratio:.0%} of its children " \
        "would go on to the exact engine"
    margin = settings.margin if settings.margin is not None else engine_named(name).screen_margin
    print(f"evofool: evaluator.screen: {name} scores a child in {cost_ratio:.2f} of an exact "
          f"score (margin {margin:g} log-odds); {rule}", file=sys.stderr)
    return Screen(engine=name, margin=margin,
                  audit_every=settings.audit_every, cost_ratio=cost_ratio,
                  always=settings.when == "always")


def build_evaluator(config: RunConfig, classifier: Classifier | ClassifierEnsemble,
                     encoding: Encoding, *, engine: str | None = None,
                     gate: DetectorGate | None = None,
                     screen: Screen | None = None) -> LocalEvaluator | RayEvaluator:
    """Genomes to scores: in this process, or on Ray actors that each load the config's
    model(s), the encoding, the detector ``gate`` and the ``screen``'s engine once.

    ``engine`` overrides ``evaluator.engine`` (a resumed run keeps the engine it
    started with). An algorithm that needs gradients always scores in torch.
    """
    settings = config.evaluator
    engine = engine or settings.engine
    if config.algorithm.needs_gradients:
        engine = "torch"
    if settings.backend == "ray":
        from evofool.evaluation.ray import RayEvaluator  # Ray is an optional extra

        return RayEvaluator(encoding, classifier, settings, model_specs=config.model_specs,
                            engine=engine, seed=config.seed, gate=gate, screen=screen)
    scorer = scorer_for(classifier, settings, engine=engine)
    screen_scorer = None if screen is None else \
        scorer_for(classifier, settings, engine=screen.engine, screening=True)
    return LocalEvaluator(encoding, scorer, gate=gate, screen=screen,
                          screen_scorer=screen_scorer, seed=config.seed)


def _copies(config: RunConfig, classifier: Classifier | ClassifierEnsemble) -> int:
    """How many copies the config's defences make of each image (ten crops: 10)."""
    return DefenseChain(config.evaluator.defense_chain, classifier.input_spec).samples


def build_encoding(config: RunConfig, classifier: Classifier | ClassifierEnsemble) -> Encoding:
    """The config's encoding, drawing at the model's input size unless told otherwise."""
    settings = config.encoding
    spec = classifier.input_spec
    height, width = settings.height or spec.height, settings.width or spec.width
    if (height, width) != (spec.height, spec.width) and not spec.resize:
        raise ConfigError(
            f"encoding draws {height}x{width} images but {config.model_label} takes only "
            f"{spec.height}x{spec.width}")
    return encoding_for_shape(settings, (spec.channels, height, width))


def build_gate(config: RunConfig, classifier: Classifier, run_dir: Path, *,
               resuming: bool) -> DetectorGate | None:
    """The OOD detector the run evolves past (``evaluator.detector``), or None.

    A new run fits it (feature detectors on ``fit_on``) and sets its threshold; a
    resumed run loads the one it saved when it started.
    """
    settings = config.evaluator.detector
    if settings is None:
        return None
    from evofool.ood.gate import DetectorGate, fit_gate  # pytorch-ood is an optional extra
    from evofool.run.image_sets import load_image_set

    if resuming:
        return DetectorGate.load(run_dir / DETECTOR_FILE, classifier)
    print(f"evofool: fitting the {settings.type} detector to evolve past", file=sys.stderr)
    return fit_gate(classifier, detector=settings.type, fit_on=settings.fit_on,
                    fit_images=settings.fit_images, threshold_on=settings.threshold_on,
                    tpr=settings.tpr, load_images=load_image_set)


def build_algorithm(config: RunConfig, encoding: Encoding,
                    evaluator: LocalEvaluator | RayEvaluator) -> Search:
    """The config's search algorithm, through its registry entry.

    Raises:
        ConfigError: sizes whose allocations cannot fit in the machine's memory.
    """
    settings = config.algorithm
    check_memory_plan(settings.memory_plan(
        genome_bytes=encoding.genome_bytes, image_bytes=4 * math.prod(encoding.image_shape),
        num_classes=len(evaluator.class_names)), evaluator.device)
    return ALGORITHMS[settings.type].build(
        settings, encoding=encoding, evaluator=evaluator,
        rng=RunRandomness(config.seed, evaluator.device))
