"""A plain generational GA per target class, all targets evolved side by side.

Each target class has its own population of ``population`` genomes that never
mixes with the others; stacking them lets one batched forward pass score
every target's offspring at once. Selection mirrors DEAP's ``selTournament``
(best of k drawn with replacement) or truncation (uniform among the best
fraction), vectorised over targets; DEAP's ``Logbook`` keeps the statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
from deap import tools

from evofool.algorithms.base import Evolution, Outcome, Proposal, check_classes
from evofool.encodings.genome_batch import GenomeBatch, concat, take
from evofool.encodings.protocol import Encoding
from evofool.errors import ConfigError
from evofool.evaluation.unit import Evaluator
from evofool.randomness import RunRandomness
from evofool.settings import ComponentSettings, positive, probability


@dataclass(frozen=True)
class GeneticSettings(ComponentSettings):
    """``algorithm: {type: ga, ...}``; see GeneticAlgorithm."""

    classes_field: ClassVar[str] = "targets"

    type: Literal["ga"] = "ga"
    # the classes evolved, one population each
    targets: list[int] = field(default_factory=lambda: [0])
    population: int = positive(100)  # genomes per target class
    offspring: int = positive(100)  # children per population and generation
    selection: Literal["tournament", "truncation"] = "tournament"  # how parents are chosen
    tournament_size: int = positive(3)  # contestants per tournament
    truncation_fraction: float = probability(0.5)  # the best share that may parent
    elites: int = 1  # best genomes kept unchanged into the next generation

    def __post_init__(self) -> None:
        if not self.targets:
            raise ConfigError("algorithm.targets must name at least one class")
        if not 0 <= self.elites < self.population:
            raise ConfigError("algorithm.elites must be in [0, population)")
        if self.offspring < self.population - self.elites:
            raise ConfigError("algorithm.offspring must be at least population - elites")

    def memory_plan(self, *, genome_bytes: int, image_bytes: int, num_classes: int
                    ) -> dict[str, int]:
        return {"algorithm.population": len(self.targets) * (
            (self.population + self.offspring) * (2 * genome_bytes + 3 * image_bytes))}


class GeneticAlgorithm(Evolution):
    """(mu, lambda) with elitism: each target's next population is its ``elites`` best
    parents plus the best ``population - elites`` offspring.

    Settings (GeneticSettings):
        targets: class indices, each evolved independently.
        population: mu, individuals per target.
        offspring: lambda, children per target and generation (>= mu - elites).
        selection: "tournament" or "truncation".
        tournament_size: k for tournaments.
        truncation_fraction: share of the population eligible as parents.
        elites: parents carried over unchanged.
    """

    def __init__(self, settings: GeneticSettings, *, encoding: Encoding,
                 evaluator: Evaluator, rng: RunRandomness) -> None:
        super().__init__(encoding=encoding, evaluator=evaluator, rng=rng)
        check_classes("algorithm.targets", settings.targets, evaluator)
        self.targets = torch.tensor(settings.targets, device=rng.device)
        self.population_size = settings.population
        self.offspring_size = settings.offspring
        self.selection = settings.selection
        self.tournament_size = settings.tournament_size
        self.truncation_fraction = settings.truncation_fraction
        self.elites = settings.elites
        self.population: GenomeBatch | None = None
        self.fitness = torch.empty(0)
        self.ids = torch.empty(0, dtype=torch.long)
        self.logbook = tools.Logbook()
        self.logbook.header = ["gen", "evals", "best", "median"]

    @property
    def classes_in_play(self) -> torch.Tensor:
        """Only the target classes are evolved."""
        return self.targets

    def ask(self) -> Proposal:
        """mu random genomes per target in generation 0; after, lambda children per target
        of selected parents. Each child competes in the archive for its own target only."""
        targets, mu = len(self.targets), self.population_size
        if self.generation == 0:
            count = targets * mu
            children = self.encoding.random(count, self.rng)
            parent_ids = torch.full((count,), -1, dtype=torch.long, device=self.rng.device)
        else:
            parents = self._select(self.offspring_size)
            mates = None
            if self.encoding.uses_mates:
                mates = take(self.population, self._select(self.offspring_size))
            children = self.encoding.offspring(take(self.population, parents), mates, self.rng,
                                               self.generation)
            parent_ids = self.ids[parents]
        count = parent_ids.numel()
        eligible = torch.zeros(count, len(self.evaluator.class_names), dtype=torch.bool,
                               device=self.rng.device)
        eligible[torch.arange(count, device=self.rng.device), self._own_targets(count)] = True
        return Proposal(children, parent_ids, eligible=eligible)

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        """Fitness (targets, per target) = each child's confidence in its own target (where
        a gate applies, its gated fitness); the first children are the population, later
        ones replace all but the elites."""
        count = outcome.child_ids.numel()
        rows = torch.arange(count, device=self.rng.device)
        fitness = outcome.scores.fitness[rows, self._own_targets(count)].view(
            len(self.targets), -1)
        if self.population is None:
            self.population, self.fitness, self.ids = proposal.genomes, fitness, outcome.child_ids
        else:
            self._replace(proposal.genomes, fitness, outcome.child_ids)
        self.logbook.record(gen=self.generation, evals=self.evaluations,
                            best=self.fitness.max(dim=1).values.tolist(),
                            median=self.fitness.quantile(0.5, dim=1).tolist())

    def _own_targets(self, count: int) -> torch.Tensor:
        """(count,) each child's target: children come in equal blocks, one per target."""
        return self.targets.repeat_interleave(count // len(self.targets))

    def _select(self, count: int) -> torch.Tensor:
        """Row indices into the stacked population: ``count`` parents per target."""
        targets, mu = self.fitness.shape
        if self.selection == "tournament":
            entrants = self.rng.integers(mu, targets, count, self.tournament_size)
            scores = self.fitness.gather(1, entrants.view(targets, -1)).view(entrants.shape)
            chosen = entrants.gather(2, scores.argmax(dim=2, keepdim=True)).squeeze(2)
        else:
            eligible = max(1, math.ceil(self.truncation_fraction * mu))
            ranked = self.fitness.argsort(dim=1, descending=True)[:, :eligible]
            chosen = ranked.gather(1, self.rng.integers(eligible, targets, count))
        offsets = torch.arange(targets, device=chosen.device).unsqueeze(1) * mu
        return (chosen + offsets).view(-1)

    def _replace(self, children: GenomeBatch, fitness: torch.Tensor, ids: torch.Tensor) -> None:
        targets, mu, lam = len(self.targets), self.population_size, self.offspring_size
        elite_rows = self.fitness.argsort(dim=1, descending=True)[:, :self.elites]
        child_rows = fitness.argsort(dim=1, descending=True)[:, :mu - self.elites]
        elite_index = (elite_rows + torch.arange(targets, device=ids.device).unsqueeze(1) * mu)
        child_index = (child_rows + torch.arange(targets, device=ids.device).unsqueeze(1) * lam)
        kept = take(self.population, elite_index.view(-1))
        new = take(children, child_index.view(-1))
        # Regroup per target: each target's block is its elites, then its children.
        device = ids.device
        kept_rows = torch.arange(targets * self.elites, device=device).view(targets, -1)
        new_rows = targets * self.elites + torch.arange(
            targets * (mu - self.elites), device=device).view(targets, -1)
        order = torch.cat([kept_rows, new_rows], dim=1).view(-1)
        self.population = take(concat([kept, new]), order)
        self.fitness = torch.cat([self.fitness.gather(1, elite_rows),
                                  fitness.gather(1, child_rows)], dim=1)
        self.ids = torch.cat([self.ids[elite_index.view(-1)], ids[child_index.view(-1)]])[order]

    def _extra_state(self) -> dict[str, Any]:
        """Populations, their fitness and ids, and the statistics."""
        return {"population": None if self.population is None else {
                    key: value.cpu() for key, value in self.population.items()},
                "fitness": self.fitness.cpu(), "ids": self.ids.cpu(),
                "logbook": [dict(entry) for entry in self.logbook]}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        device = self.rng.device
        self.population = None if state["population"] is None else {
            key: value.to(device) for key, value in state["population"].items()}
        self.fitness = state["fitness"].to(device)
        self.ids = state["ids"].to(device)
        self.logbook.clear()
        for entry in state["logbook"]:
            self.logbook.record(**entry)
