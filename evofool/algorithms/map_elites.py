"""MAP-Elites with one cell per class (paper section 2.1)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from evofool.algorithms.base import Evolution, Outcome, Proposal, check_classes
from evofool.algorithms.gradient_variation import GradientSettings, GradientVariation
from evofool.algorithms.parent_choice import Curiosity, StepSizes
from evofool.archive.champions import EMPTY, ChampionArchive
from evofool.encodings.genome_batch import GenomeBatch, concat, take
from evofool.encodings.protocol import Encoding
from evofool.errors import ConfigError
from evofool.evaluation.unit import Evaluator, brightness_bands
from evofool.randomness import RunRandomness
from evofool.settings import ComponentSettings, positive


@dataclass(frozen=True)
class MapElitesSettings(ComponentSettings):
    """``algorithm: {type: map_elites, ...}``; see MapElites."""

    uses_screen: ClassVar[bool] = True
    classes_field: ClassVar[str] = "classes"

    type: Literal["map_elites"] = "map_elites"
    batch_size: int = positive(200)  # children per generation
    classes: list[int] | None = None  # cells for these classes only; None: every class
    brightness_bins: int = positive(1)  # stepping stones: parent cells per class
    parents: Literal["uniform", "curiosity"] = "uniform"  # how parent cells are drawn
    mutation_strength: Literal["fixed", "adaptive"] = "fixed"  # per parent cell, or the encoding's
    # children placed along the model's gradient (torch differentiates; null: none)
    gradient: GradientSettings | None = None

    def __post_init__(self) -> None:
        if self.classes is not None and not self.classes:
            raise ConfigError("algorithm.classes must name at least one class (or be null)")
        if self.gradient is not None:
            self.gradient.check(self.batch_size)

    def check(self, config: Any) -> None:
        if self.gradient is not None and config.evaluator.defense_chain:
            raise ConfigError("algorithm.gradient: input defences block the model's gradient; "
                              "set algorithm.gradient: null to evolve without it")

    def memory_plan(self, *, genome_bytes: int, image_bytes: int, num_classes: int
                    ) -> dict[str, int]:
        # children (with their parents) and their float images, scores per class; the
        # champions and stepping stones, and each child's scores spread over the bands
        cells = num_classes * self.brightness_bins
        return {"algorithm.batch_size": self.batch_size * (
                    2 * genome_bytes + 3 * image_bytes + 16 * num_classes),
                "algorithm.brightness_bins": cells * (genome_bytes + 64)
                    + 4 * self.batch_size * cells}


class MapElites(Evolution):
    """Each generation: B children of champions drawn uniformly from occupied cells,
    rendered and scored in one batched call, then offered to every class.

    The first generation is B random genomes. ``step`` advances one
    generation; all state (archive, counters, randomness) is held here.

    Settings (MapElitesSettings):
        batch_size: children per generation.
        classes: the classes that have a cell (default: all). The n+1
            experiment leaves the "garbage" class out: an image the model
            calls garbage is no fooling image.
        brightness_bins: with more than 1, parents come from finer cells:
            the best genome for each (class, band of mean pixel brightness),
            held in ``stepping_stones`` beside the per-class ``archive``
            (which every child still competes for, as in the paper). Why:
            a CPPN run that stalls under 0.9999 is stuck on a champion no
            single mutation improves, and its escape comes from another
            cell's genome (benchmarks/cppn_stall.py); with only one cell per
            class there are few such stepping stones. Brightness is the
            descriptor because it is cheap, encoding-free, and splits images
            a class accepts into visibly different kinds.
        parents: ``uniform`` (the paper) draws parent cells uniformly;
            ``curiosity`` in proportion to how often their recent children
            were kept (``parent_choice.Curiosity``).
        mutation_strength: ``fixed`` mutates with the encoding's own step;
            ``adaptive`` gives each parent cell its own step, grown when its
            children are kept and shrunk when not (``parent_choice.StepSizes``).
        gradient: where set, some children are placed along the model's gradient
            instead of mutated (``gradient_variation``); off by default, since on
            ImageNet it lost to mutation alone at equal time (BENCHMARKS.md).
    """

    def __init__(self, settings: MapElitesSettings, *, encoding: Encoding,
                 evaluator: Evaluator, rng: RunRandomness) -> None:
        super().__init__(encoding=encoding, evaluator=evaluator, rng=rng)
        check_classes("algorithm.classes", settings.classes or [], evaluator)
        self.batch_size = batch_size = settings.batch_size
        classes, brightness_bins = settings.classes, settings.brightness_bins
        num_classes = len(evaluator.class_names)
        self._cells = torch.arange(num_classes, device=rng.device) if classes is None \
            else torch.tensor(sorted(set(classes)), device=rng.device)
        self._eligible = None
        if classes is not None:
            self._eligible = torch.zeros(batch_size, num_classes, dtype=torch.bool,
                                         device=rng.device)
            self._eligible[:, self._cells] = True
        self.brightness_bins = brightness_bins
        # cells are (band, class) pairs, not classes: no top-k classes to keep
        self.stepping_stones = None if brightness_bins == 1 else ChampionArchive(
            brightness_bins * num_classes, rng.device, top_k=0)
        pool_cells = brightness_bins * num_classes
        self.curiosity = Curiosity(pool_cells, rng.device) if settings.parents == "curiosity" \
            else None
        self.step_sizes = StepSizes(pool_cells, rng.device) \
            if settings.mutation_strength == "adaptive" else None
        self.gradient = None if settings.gradient is None else GradientVariation(
            settings.gradient, encoding=encoding, evaluator=evaluator)

    @property
    def classes_in_play(self) -> torch.Tensor:
        """The classes that have a cell."""
        return self._cells

    def ask(self) -> Proposal:
        """B random genomes in generation 0; after, children of parent cells (uniform or by
        curiosity), mutated with their cell's strength where that adapts."""
        count, device = self.batch_size, self.rng.device
        banded = self.stepping_stones is not None
        if self.generation == 0:
            return Proposal(self.encoding.random(count, self.rng),
                            torch.full((count,), -1, dtype=torch.long, device=device),
                            eligible=self._eligible, must_beat=self._thresholds,
                            with_brightness=banded)
        children, parent_ids, parents = self._mutants(count)
        if self.gradient is not None:
            children, parent_ids, parents = self._with_gradient_children(
                children, parent_ids, parents)
        return Proposal(children, parent_ids, eligible=self._eligible, parent_cells=parents,
                        must_beat=self._thresholds, with_brightness=banded)

    def _mutants(self, count: int) -> tuple[GenomeBatch, torch.Tensor, torch.Tensor]:
        """``count`` children of parent cells drawn from the pool, their parents' genome ids
        and the parent cells."""
        pool = self._parent_pool()
        cells = pool.occupied.nonzero().squeeze(1)
        parents = cells[self.rng.integers(cells.numel(), count)] if self.curiosity is None \
            else self.curiosity.draw(cells, count, self.rng)
        mates = None
        if self.encoding.uses_mates:
            mates = take(pool.genomes, cells[self.rng.integers(cells.numel(), count)])
        adaptive = {} if self.step_sizes is None else {
            "strength": self.step_sizes.of(parents)}  # encodings may predate strength
        children = self.encoding.offspring(take(pool.genomes, parents), mates, self.rng,
                                           self.generation, **adaptive)
        return children, pool.genome_id[parents], parents

    def _with_gradient_children(self, children: GenomeBatch, parent_ids: torch.Tensor,
                                parents: torch.Tensor
                                ) -> tuple[GenomeBatch, torch.Tensor, torch.Tensor]:
        """The batch with its first ``gradient.count`` mutants replaced by gradient children
        of the first ``gradient.parents`` parent cells, each toward its cell's class."""
        settings = self.gradient.settings
        pool = self._parent_pool()
        cells = parents[:settings.parents]
        targets = cells % len(self.evaluator.class_names)  # a banded cell is band * K + class
        gradient_children, steps = self.gradient.children(
            take(pool.genomes, cells), targets, self.rng, self.generation)
        self.gradient_steps += steps
        count = settings.count
        from_cells = cells.repeat_interleave(settings.children)
        return (concat([gradient_children, take(children, torch.arange(
                    count, parent_ids.numel(), device=parent_ids.device))]),
                torch.cat([pool.genome_id[from_cells], parent_ids[count:]]),
                torch.cat([from_cells, parents[count:]]))

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        """Offer the children to their bands' stepping stones; teach the per-cell learners
        which children were kept (by a class or a band)."""
        kept = outcome.added.cells_taken > 0
        if self.stepping_stones is not None:
            scores, band = outcome.scores, self._band(outcome.scores.brightness)
            kept |= self.stepping_stones.add(
                proposal.genomes, self._by_band(band, scores.probabilities),
                generation=self.generation, child_ids=outcome.child_ids,
                parent_ids=proposal.parent_ids, evaluations_before=outcome.evaluations_before,
                fitness=self._by_band(band, scores.fitness),
                outlier_scores=scores.outlier_scores).cells_taken > 0
        if proposal.parent_cells is not None:
            for learner in (self.curiosity, self.step_sizes):
                if learner is not None:
                    learner.tell(proposal.parent_cells, kept)

    def _parent_pool(self) -> ChampionArchive:
        """The stepping stones where there are any (a checkpoint from before they were
        switched on has none yet), else the per-class champions."""
        if self.stepping_stones is not None and bool(self.stepping_stones.occupied.any()):
            return self.stepping_stones
        return self.archive

    def _thresholds(self, brightness: torch.Tensor | None) -> torch.Tensor:
        """(B, K) the fitness each child must beat in each class to take a cell: the lower of
        its class's champion and of its band's stepping stone; +inf where it may not
        compete (classes without a cell)."""
        count = self.batch_size
        thresholds = self.archive.fitness.unsqueeze(0).expand(count, -1)
        if brightness is not None:
            band = self._band(brightness)
            num_classes = thresholds.shape[1]
            stones = self.stepping_stones.fitness.view(self.brightness_bins, num_classes)
            thresholds = torch.minimum(thresholds, stones[band])
        if self._eligible is not None:
            thresholds = thresholds.masked_fill(~self._eligible[:count], float("inf"))
        return thresholds

    def _band(self, brightness: torch.Tensor) -> torch.Tensor:
        """(B,) each child's band of mean brightness, 0 .. brightness_bins - 1."""
        return brightness_bands(brightness, pixels=math.prod(self.encoding.image_shape),
                                bands=self.brightness_bins)

    def _by_band(self, band: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """(B, bins * K): each child's (B, K) ``values`` in its band's K columns, EMPTY
        elsewhere (and for classes without a cell), so it competes in its own band only."""
        count, num_classes = values.shape
        columns = band.unsqueeze(1) * num_classes + torch.arange(num_classes,
                                                                 device=band.device)
        if self._eligible is not None:
            values = values.masked_fill(~self._eligible, EMPTY)
        spread = torch.full((count, self.brightness_bins * num_classes), EMPTY,
                            device=values.device)
        return spread.scatter_(1, columns, values)

    def _extra_state(self) -> dict[str, Any]:
        stones = None if self.stepping_stones is None else self.stepping_stones.state_dict()
        return {"stepping_stones": stones,
                "curiosity": None if self.curiosity is None else self.curiosity.score.cpu(),
                "step_sizes": None if self.step_sizes is None else self.step_sizes.size.cpu()}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        stones = state.get("stepping_stones")
        if (self.stepping_stones is not None and stones is not None
                and stones["confidence"].shape == self.stepping_stones.confidence.shape):
            self.stepping_stones.load_state_dict(stones)
        for learner, key in ((self.curiosity, "curiosity"), (self.step_sizes, "step_sizes")):
            if learner is not None and state.get(key) is not None:
                learner.load(state[key])
