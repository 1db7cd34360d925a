"""Children placed along the model's gradient: MAP-Elites' second variation operator for a
model torch can differentiate (``algorithm.gradient``).

Why: evolution's mutations are blind, and on ImageNet a cell's champion improves
slowly (BENCHMARKS.md, "Gradient-informed variation"). A backward pass through the
model and the genome says which way the parent cell's class gains; since one
backward pass costs several exact evaluations on the fast engine, it is spent on a
direction, and several children are placed along it at different step lengths (the
idea of pyribs' gradient emitters and QDax's PGA-ME, which split each batch between
GA and gradient offspring). Every child is then drawn and scored exactly like any
other and competes in every cell: the gradient only proposes.

With ``steps`` > 1 the parent first walks that many normalised steps (re-deriving the
gradient at each), Lamarckian tuning; with ``children: 1`` that walk is the child.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from evofool.encodings.genome_batch import GenomeBatch
from evofool.encodings.protocol import DifferentiableEncoding, Encoding
from evofool.errors import ConfigError
from evofool.evaluation.unit import Evaluator
from evofool.randomness import RunRandomness
from evofool.settings import positive, probability

ADAM_BETAS = (0.9, 0.999)


@dataclass(frozen=True)
class GradientSettings:
    """``algorithm.gradient``: gradient children in each MAP-Elites generation (null: none,
    black-box evolution). They replace as many of the batch's mutants, so a generation
    scores ``batch_size`` children either way. The defaults are the operator as measured on
    ImageNet (BENCHMARKS.md, "Gradient-informed variation"): a CPPN's log-probability stays
    near-linear in its weights for steps of a few thousandths only."""

    parents: int = positive(4)  # parent cells whose class gradient each generation computes
    children: int = positive(8)  # children placed along each parent's gradient
    steps: int = positive(1)  # gradient steps a parent walks before its children are placed
    walk_step: float = positive(0.01)  # length of each walking step (steps > 1)
    # shortest step along the normalised gradient; children's steps are log-uniform up to
    # step_max, in L2 over a CPPN's weights or a direct image's pixels
    step_min: float = positive(0.003)
    step_max: float = positive(0.05)  # longest step along the normalised gradient
    # unit: the gradient scaled to length 1; sign: its signs, scaled to length 1;
    # adam: Adam's update over the walk (as sign for one step), scaled to length 1
    normalise: Literal["unit", "sign", "adam"] = "sign"
    # side of the square grid a CPPN's backward pass draws at (the model's gradient is
    # pooled to it); null: the model's input size
    resolution: int | None = positive(None)
    noise: float = probability(0.0)  # share of gradient children also mutated as usual

    def check(self, batch_size: int) -> None:
        if self.parents * self.children > batch_size:
            raise ConfigError(
                f"algorithm.gradient: parents x children ({self.parents * self.children}) "
                f"must not exceed algorithm.batch_size ({batch_size})")
        if self.step_min > self.step_max:
            raise ConfigError("algorithm.gradient.step_min must not exceed step_max")

    @property
    def count(self) -> int:
        """Gradient children per generation."""
        return self.parents * self.children


class GradientVariation:
    """Proposes a generation's gradient children (see the module docstring).

    Args:
        settings: the operator's settings.
        encoding: a DifferentiableEncoding (CPPN and direct are; another is refused).
        evaluator: gives log-probability gradients (``log_probability_gradient``) in torch.
    """

    def __init__(self, settings: GradientSettings, *, encoding: Encoding,
                 evaluator: Evaluator) -> None:
        if not hasattr(encoding, "gradient_direction"):
            raise ConfigError(f"algorithm.gradient: the {type(encoding).__name__} has no "
                              "gradient; set algorithm.gradient: null")
        self.settings = settings
        self.encoding: DifferentiableEncoding = encoding
        self.evaluator = evaluator

    def children(self, parents: GenomeBatch, targets: torch.Tensor, rng: RunRandomness,
                 generation: int) -> tuple[GenomeBatch, int]:
        """``settings.children`` children of each of ``parents`` toward its ``targets`` class
        (children of one parent next to each other), and the gradient steps taken (one per
        parent and walking step)."""
        settings = self.settings
        point, direction = self._walk(parents, targets)
        repeat = torch.arange(targets.numel(), device=targets.device).repeat_interleave(
            settings.children)
        lengths = torch.exp(rng.uniform(repeat.numel(), low=math.log(settings.step_min),
                                        high=math.log(settings.step_max)))
        origin = {key: value[repeat] for key, value in point.items()}
        children = self.encoding.stepped(origin, {key: value[repeat] for key, value
                                                  in direction.items()}, lengths)
        noisy = rng.uniform(repeat.numel()) < settings.noise
        # mated with themselves where the encoding crosses: a cross of equals changes nothing
        mates = children if self.encoding.uses_mates else None
        mutated = self.encoding.offspring(children, mates, rng, generation)
        children = {key: torch.where(noisy.view(-1, *[1] * (value.dim() - 1)),
                                     mutated[key], value) for key, value in children.items()}
        return children, targets.numel() * settings.steps

    def _walk(self, parents: GenomeBatch, targets: torch.Tensor
              ) -> tuple[GenomeBatch, GenomeBatch]:
        """The parents after ``steps - 1`` normalised steps, and the normalised direction at
        the last point (Adam's moments carried along the walk)."""
        settings, point = self.settings, parents
        moments = None
        for step in range(settings.steps):
            raw = self._gradient(point, targets)
            direction, moments = normalised_direction(raw, settings.normalise, moments, step + 1)
            if step < settings.steps - 1:
                lengths = torch.full((targets.numel(),), settings.walk_step,
                                     device=targets.device)
                point = self.encoding.stepped(point, direction, lengths)
        return point, direction

    def _gradient(self, genomes: GenomeBatch, targets: torch.Tensor) -> GenomeBatch:
        images = self.encoding.render(genomes).detach().clone()
        _, pixel_gradient = self.evaluator.log_probability_gradient(images, targets)
        return self.encoding.gradient_direction(genomes, pixel_gradient.to(images.device),
                                                resolution=self.settings.resolution)


def normalised_direction(raw: GenomeBatch, how: str, moments: tuple | None, step: int
                ) -> tuple[GenomeBatch, tuple | None]:
    """Each genome's direction scaled to length 1 over all its genes (zero stays zero)."""
    flat = torch.cat([value.flatten(1) for value in raw.values()], dim=1)
    if how == "sign":
        flat = flat.sign()
    elif how == "adam":
        first, second = moments or (torch.zeros_like(flat), torch.zeros_like(flat))
        first = ADAM_BETAS[0] * first + (1 - ADAM_BETAS[0]) * flat
        second = ADAM_BETAS[1] * second + (1 - ADAM_BETAS[1]) * flat * flat
        moments = (first, second)
        flat = (first / (1 - ADAM_BETAS[0] ** step)) / (
            (second / (1 - ADAM_BETAS[1] ** step)).sqrt() + 1e-12)
    flat = flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-30)
    directions, start = {}, 0
    for key, value in raw.items():
        size = value[0].numel()
        directions[key] = flat[:, start:start + size].view_as(value)
        start += size
    return directions, moments
