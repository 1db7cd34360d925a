"""Gradient ascent from noise: the paper's comparison to evolution (section 3.4).

Each target class gets one image, started from uniform noise and pushed up
the gradient of log p(target) minus an L2 decay toward mid-grey, pixels
clipped to [0, 1] after every step (Adam keeps the step sizes sane across
models). The images are offered to the same champion archive as evolution's
children, so a run's store, browser, export and transfer treat both alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from evofool.algorithms.base import Search, check_classes
from evofool.archive.confidence import FOOLED_THRESHOLD, STRICT_THRESHOLD
from evofool.encodings.protocol import Encoding
from evofool.engines.registry import engine_named
from evofool.errors import ConfigError
from evofool.evaluation.unit import DifferentiableEvaluator
from evofool.randomness import RunRandomness
from evofool.settings import ComponentSettings, positive

THRESHOLDS = (FOOLED_THRESHOLD, 0.999, STRICT_THRESHOLD)


@dataclass(frozen=True)
class AscentSettings(ComponentSettings):
    """``algorithm: {type: ascent, ...}``: one generation is ``steps_per_generation`` Adam
    steps for every target at once; the archive (and the store) sees the images at the
    end of each. Needs the direct encoding and torch's gradients (here or on Ray actors)."""

    needs_gradients: ClassVar[bool] = True
    classes_field: ClassVar[str] = "targets"

    type: Literal["ascent"] = "ascent"
    targets: list[int] | None = None  # None: every class
    learning_rate: float = positive(0.05)  # Adam's step size on the pixels
    l2_decay: float = 0.001  # pulls pixels toward mid-grey, the analogue of a zero-mean image
    steps_per_generation: int = positive(10)  # gradient steps between recorded generations

    def __post_init__(self) -> None:
        if self.targets is not None and not self.targets:
            raise ConfigError("algorithm.targets must name at least one class (or be null)")

    def memory_plan(self, *, genome_bytes: int, image_bytes: int, num_classes: int
                    ) -> dict[str, int]:
        targets = num_classes if self.targets is None else len(self.targets)
        return {"algorithm.targets": targets * 8 * image_bytes}  # pixels, Adam, gradients

    def check(self, config: Any) -> None:
        if config.encoding.type != "direct":
            raise ConfigError("algorithm.type ascent changes pixels directly: it needs "
                              "encoding.type direct")
        evaluator = config.evaluator
        if evaluator.engine != "auto" and not engine_named(evaluator.engine).differentiable:
            raise ConfigError(f"algorithm.type ascent needs gradients, which "
                              f"{evaluator.engine} does not give: set evaluator.engine: torch "
                              "(or auto)")
        if evaluator.detector is not None:
            raise ConfigError("evaluator.detector works with evolution (map_elites, ga), not "
                              "algorithm.type ascent")


class GradientAscent(Search):
    """All targets ascend together, one batched forward and backward pass per step.

    Settings (AscentSettings), with ``encoding`` a direct encoding (the genome is the image):
        targets: the classes to maximise; one image each.
        learning_rate: Adam's step size, in pixel units.
        l2_decay: weight of ||x - 0.5||^2 in the objective.
        steps_per_generation: Adam steps between offers to the archive.
    """

    evaluator: DifferentiableEvaluator

    def __init__(self, settings: AscentSettings, *, encoding: Encoding,
                 evaluator: DifferentiableEvaluator, rng: RunRandomness) -> None:
        """``evaluator`` scores on the torch engine (locally or on Ray actors), without gate,
        screen or defences: the config refuses them with ascent (see check). It gives the
        gradients."""
        super().__init__(encoding=encoding, evaluator=evaluator, rng=rng)
        targets = list(range(len(evaluator.class_names))) if settings.targets is None \
            else settings.targets
        check_classes("algorithm.targets", targets, evaluator)
        self.targets = torch.tensor(targets, device=rng.device)
        self.learning_rate = settings.learning_rate
        self.l2_decay = settings.l2_decay
        self.steps_per_generation = settings.steps_per_generation
        self.pixels = encoding.random(len(targets), rng)["pixels"]
        self.optimizer = torch.optim.Adam([self.pixels], lr=settings.learning_rate)
        self.eligible = torch.zeros(len(targets), self.archive.num_classes, dtype=torch.bool,
                                    device=rng.device)
        self.eligible[torch.arange(len(targets)), self.targets] = True
        # Gradient steps taken before each target first reached each threshold; -1: not yet.
        self.steps_to = torch.full((len(targets), len(THRESHOLDS)), -1, dtype=torch.long,
                                   device=rng.device)
        self.steps = 0

    @property
    def classes_in_play(self) -> torch.Tensor:
        return self.targets

    def step(self) -> None:
        """``steps_per_generation`` Adam steps; the last images scored go to the archive."""
        for step in range(self.steps_per_generation):
            probabilities, gradient = self.evaluator.log_probability_gradient(
                self.pixels, self.targets)
            self._note_thresholds(probabilities)
            self.evaluations += len(self.targets)
            if step == self.steps_per_generation - 1:
                self._offer(self.pixels.clone(), probabilities)
            # Adam minimises: hand it the negative of the objective's gradient.
            self.pixels.grad = -(gradient - 2 * self.l2_decay * (self.pixels - 0.5))
            self.optimizer.step()
            with torch.no_grad():
                self.pixels.clamp_(0, 1)
            self.steps += 1
        self.generation += 1

    def summary_fields(self) -> dict[str, Any]:
        """Per target, the gradient steps needed to reach each of THRESHOLDS (or None)."""
        return {"steps_to_threshold": {
            str(target): {str(threshold): (None if steps < 0 else steps)
                          for threshold, steps in zip(THRESHOLDS, row, strict=True)}
            for target, row in zip(self.targets.tolist(), self.steps_to.tolist(), strict=True)}}

    def _note_thresholds(self, probabilities: torch.Tensor) -> None:
        reached = probabilities.gather(1, self.targets.view(-1, 1)) >= torch.tensor(
            THRESHOLDS, device=probabilities.device)
        self.steps_to = torch.where(reached & (self.steps_to < 0), self.steps, self.steps_to)

    def _offer(self, pixels: torch.Tensor, probabilities: torch.Tensor) -> None:
        count = len(self.targets)
        self.archive.add({"pixels": pixels}, probabilities, generation=self.generation,
                         child_ids=self._new_ids(count),
                         parent_ids=self.archive.genome_id[self.targets],
                         evaluations_before=self.evaluations - count, eligible=self.eligible)

    def _extra_state(self) -> dict[str, Any]:
        """The images, Adam's moments and the steps taken."""
        return {"pixels": self.pixels.cpu(), "optimizer": self.optimizer.state_dict(),
                "steps_to": self.steps_to.cpu(), "steps": self.steps}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.pixels.copy_(state["pixels"].to(self.rng.device))
        self.optimizer.load_state_dict(state["optimizer"])
        self.steps_to = state["steps_to"].to(self.rng.device)
        self.steps = state["steps"]
