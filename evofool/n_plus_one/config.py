"""The n+1 experiment's config: rounds, one evolution run per round, retraining, garbage set."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evofool.archive.confidence import FOOLED_THRESHOLD
from evofool.errors import ConfigError
from evofool.files.yaml_files import override_dict, read_yaml_mapping
from evofool.ood.detectors import DETECTORS
from evofool.run.config import RunConfig, validate_run_config
from evofool.settings import build_section, positive


@dataclass(frozen=True)
class TrainingSettings:
    """How each round's n+1-class model is trained on the natural images plus the garbage
    set so far.

    ``scratch`` trains a fresh network of the round-0 model's architecture each
    round (the paper; evofool's own architectures only); ``finetune`` continues
    from the previous round's model, widening its output layer by the garbage
    output the first time (any model); ``layers``
    (``all`` or ``head``: the last layer only) says what fine-tuning trains.
    """

    mode: Literal["scratch", "finetune"] = "scratch"  # a fresh network per round, or go on
    layers: Literal["all", "head"] = "all"  # what fine-tuning trains
    epochs: int = positive(3)  # per round
    learning_rate: float = positive(1e-3)  # Adam's
    natural_images: int | None = None  # the first N training images only; None: all
    # test accuracy and the held-out detectors' AUROC on N test images, each class's share
    # (the first of each class: the same images however the classes interleave); None: all
    test_images: int | None = None


@dataclass(frozen=True)
class GarbageSettings:
    """Which fooling images of a round join the garbage class (class n+1).

    A round adds its champions at ``threshold`` or above and then, with
    ``include_history``, earlier champions (highest confidence first) up to
    ``per_round`` images. While training, the garbage class is resampled to
    the size of an average natural class, so it neither dominates nor vanishes.
    """

    threshold: float = FOOLED_THRESHOLD  # champions at this confidence or above join
    per_round: int = positive(1000)  # at most this many images join per round
    include_history: bool = True  # earlier champions fill up to per_round


@dataclass(frozen=True)
class HeldOutSettings:
    """Fooling images no model trains on, to measure what retraining generalises to.

    Each round also runs an independent evolution against the same model
    (seed + ``seed_offset`` + round, same settings), picks its fooling images
    as the garbage set would, and never adds them to training. Round r+1
    reports the share of round r's held-out images its model calls garbage,
    and every round scores ``detectors`` (evofool ood's, feature ones fit on
    ``fit_images`` natural training images) on its own held-out images against
    the natural test images. An empty ``detectors`` list needs no pytorch-ood.
    """

    enabled: bool = True  # false: no held-out evolution (half the evolution time)
    seed_offset: int = 1000  # held-out runs evolve with seed + seed_offset + round
    # OOD detectors scored on each round's held-out images (evofool ood's names)
    detectors: list[str] = field(default_factory=lambda: ["msp", "energy", "mahalanobis"])
    fit_images: int = positive(20000)  # natural training images feature detectors fit on


@dataclass(frozen=True)
class RetrainConfig:
    name: str = "retrain"  # the experiment directory's name under runs/
    # round 0's model: any model spec with a linear output layer; data: mnist or an image
    # folder (evofool.data.labelled) of the model's classes, or some of them
    model: str = "mnist-lenet"
    # natural images: mnist, or an image folder (class folders, or train/ and test/ of them)
    data: str = "mnist"
    seed: int = 0  # round r evolves with seed + r and trains with seed + r
    rounds: int = positive(15)  # retrained models; rounds 0..rounds each evolve once
    # each round's run: a run config's keys (evolution.generations, evolution.encoding, ...)
    evolution: RunConfig = field(default_factory=lambda: RunConfig(generations=500))
    training: TrainingSettings = field(default_factory=TrainingSettings)  # section below
    garbage: GarbageSettings = field(default_factory=GarbageSettings)  # section below
    held_out: HeldOutSettings = field(default_factory=HeldOutSettings)  # section below

    def to_dict(self) -> dict[str, Any]:
        """As YAML would hold it; the rounds set the evolution's model and seed."""
        raw = dataclasses.asdict(self)
        del raw["evolution"]["model"], raw["evolution"]["seed"]
        return raw

    def round_run_config(self, round_index: int, model: str, natural_classes: int, *,
                         held_out: bool = False) -> RunConfig:
        """The config of round ``round_index``'s run (or held-out run) against ``model``:
        the evolution section with the round's name and seed, over the natural classes
        only (no cell, no target for the garbage class)."""
        seed = self.seed + round_index + (self.held_out.seed_offset if held_out else 0)
        algorithm = self.evolution.algorithm.among_classes(list(range(natural_classes)))
        name = f"round-{round_index:02d}" + ("-held-out" if held_out else "")
        return dataclasses.replace(self.evolution, name=name, model=model, seed=seed,
                                   algorithm=algorithm)

    def with_absolute_inputs(self) -> RetrainConfig:
        """This config with round 0's model file and the image folder as absolute paths, so
        the experiment resumes from any working directory (other specs stay as they are)."""
        model, data = Path(self.model).expanduser(), Path(self.data).expanduser()
        return dataclasses.replace(
            self, model=os.path.abspath(model) if model.is_file() else self.model,
            data=os.path.abspath(data) if self.data != "mnist" and data.is_dir() else self.data)


def load_retrain_config(path: Path, overrides: list[str] = ()) -> RetrainConfig:
    """Read, override and validate a retrain config.

    Raises:
        ConfigError: unreadable YAML, unknown key, wrong type or out-of-range value.
    """
    return retrain_config_from_dict(override_dict(read_yaml_mapping(path), overrides))


def retrain_config_from_dict(raw: dict[str, Any]) -> RetrainConfig:
    evolution = raw.get("evolution") or {}
    for key in ("model", "seed"):
        if isinstance(evolution, dict) and key in evolution:
            raise ConfigError(f"evolution.{key}: set {key} at the top level of a retrain "
                              "config; each round evolves against its own model and seed")
    config = build_section(RetrainConfig, raw)
    validate_run_config(config.evolution)
    for key in ("natural_images", "test_images"):
        if (getattr(config.training, key) or 10) < 10:
            raise ConfigError(f"training.{key} must be at least 10 (or null for all)")
    if config.training.layers == "head" and config.training.mode != "finetune":
        raise ConfigError("training.layers head fine-tunes the last layer: it needs "
                          "training.mode finetune (scratch trains every layer anew)")
    if not 0 < config.garbage.threshold <= 1:
        raise ConfigError("garbage.threshold must be in (0, 1]")
    unknown = sorted(set(config.held_out.detectors) - set(DETECTORS))
    if unknown:
        raise ConfigError(f"held_out.detectors: unknown {unknown[0]} (known: "
                          f"{', '.join(DETECTORS)})")
    return config
