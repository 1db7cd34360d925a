"""The actor side of evaluation on Ray (evofool.evaluation.ray): what each actor loads once
and how it scores a shard of genomes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from evofool.encodings.protocol import Encoding
from evofool.evaluation.local import LocalEvaluator
from evofool.evaluation.scorer import scorer_for
from evofool.evaluation.settings import EvaluatorSettings
from evofool.evaluation.unit import pixel_sums
from evofool.ood.gate import DetectorGate

Shard = dict[str, np.ndarray]
# exact probabilities, screened probabilities, brightness, outlier scores (each None where
# not asked for), the actor's seconds
ShardResult = tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None,
                    float]


@dataclass(frozen=True)
class Scores:
    """A round's results put back in the order of its genomes; None where not asked for."""

    exact: torch.Tensor | None
    screened: torch.Tensor | None
    brightness: torch.Tensor | None
    outlier: torch.Tensor | None

    @classmethod
    def of(cls, results: list[ShardResult]) -> Scores:
        """The shards' results, in order, as one."""
        return cls(*(stacked(results, column) for column in range(4)))


def stacked(results: list[tuple], column: int) -> torch.Tensor | None:
    """Column ``column`` of the shards' results, in order, as one tensor (None where the
    shards have none)."""
    if results[0][column] is None:
        return None
    return torch.from_numpy(np.concatenate([result[column] for result in results]))


def _numpy(values: torch.Tensor | None) -> np.ndarray | None:
    return None if values is None else values.cpu().numpy()


class ShardEvaluator:
    """Runs inside a Ray actor: one model and encoding (and the screen's engine), loaded once,
    scoring shards."""

    def __init__(self, encoding: Encoding, model_specs: list[str], settings: EvaluatorSettings,
                 device: str, engine: str, threads: int, seed: int,
                 gate_state: dict[str, Any] | None, screen_engine: str | None,
                 model_objects: list[Any]) -> None:
        from evofool.models import load_classifiers  # in the actor's process
        from evofool.models.in_memory import hold

        torch.set_num_threads(threads)
        for classifier in model_objects:  # handed over from Python: they travel by value
            hold(classifier)
        classifier = load_classifiers(model_specs, settings.combine)
        scorer = scorer_for(classifier, settings, engine=engine, device=device)
        gate = None if gate_state is None else DetectorGate.from_state(gate_state, classifier)
        self.evaluator = LocalEvaluator(encoding, scorer, gate=gate, seed=seed)
        self.screen_scorer = None if screen_engine is None else scorer_for(
            classifier, settings, engine=screen_engine, screening=True, device=device)
        # (generation, first child, genomes): the last shard screened here, whose
        # candidates the driver then sends as places, not genomes
        self.held: tuple[int, int, Shard] | None = None

    def evaluate(self, shard: Shard, *, generation: int, first_child: int,
                 with_brightness: bool, exact: bool, screened: bool) -> ShardResult:
        """The shard's scores on the exact engine (with the gate's outlier scores) and on
        the screen's, where asked for, its brightness, and the seconds it took here."""
        started = time.perf_counter()
        if screened:
            self.held = (generation, first_child, shard)
        images = self.evaluator.render({key: torch.from_numpy(value)
                                        for key, value in shard.items()})
        brightness = pixel_sums(images) if with_brightness else None
        probabilities, outlier = self.evaluator.exact_scores(images, generation, first_child) \
            if exact else (None, None)
        screened_scores = self.screen_scorer.score(images) if screened else None
        return (_numpy(probabilities), _numpy(screened_scores), _numpy(brightness),
                _numpy(outlier), time.perf_counter() - started)

    def log_probability_gradient(self, pixels: np.ndarray, targets: np.ndarray
                                 ) -> tuple[np.ndarray, np.ndarray, float]:
        """Gradient ascent's step on this shard: probabilities, each image's gradient of
        log p(its target), and the seconds it took here."""
        started = time.perf_counter()
        probabilities, gradient = self.evaluator.log_probability_gradient(
            torch.from_numpy(pixels), torch.from_numpy(targets))
        return _numpy(probabilities), _numpy(gradient), time.perf_counter() - started

    def evaluate_candidates(self, generation: int, children: np.ndarray, others: Shard
                            ) -> ShardResult:
        """Exact scores of the generation's ``children`` (their places in it), in order:
        those of the shard screened here from its copy, the rest from ``others``' genomes."""
        own = np.zeros(len(children), dtype=bool)
        if self.held is not None and self.held[0] == generation:
            _, start, shard = self.held
            own = (children >= start) & (children < start + len(next(iter(shard.values()))))
        genomes = {}
        for key, value in others.items():
            if len(value) != int((~own).sum()):
                raise RuntimeError(f"candidates of generation {generation}: {len(value)} "
                                   f"genomes sent for {int((~own).sum())} not held here")
            genomes[key] = np.empty((len(children), *value.shape[1:]), dtype=value.dtype)
            genomes[key][~own] = value
            if own.any():
                genomes[key][own] = shard[key][children[own] - start]
        return self.evaluate(genomes, generation=generation, first_child=0,
                             with_brightness=False, exact=True, screened=False)
