"""CMA-ME: MAP-Elites with CMA-ES improvement emitters over CPPN weights (Fontaine, Togelius,
Nikolaidis & Hoover, "Covariance Matrix Adaptation for the Rapid Illumination of Behavior
Space", GECCO 2020), on pyribs' CMA-ES.

Polynomial mutation moves a tenth of a CPPN's weights at a time, each on its own;
a CMA-ES learns which directions in the whole weight vector pay and steps along
them. Each emitter holds one parent's topology and a CMA-ES over its weights: it
proposes its share of every generation, ranks its children by the fitness they
added to the archive (pyribs' improvement ranker), recombines the ones that took
a cell (the "filter" selection) and restarts from another elite when none did or
its distribution has collapsed (the "no_improvement" rule). The rest of each
generation is MAP-Elites' own mutants, topology edits included: they are how
new topologies reach the archive, where the emitters restart from.

Every random number comes from the run's generator (each sample seeds the
strategy's numpy generator from it), and the strategies' state is checkpointed
as tensors, so a resumed run proposes exactly what an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from evofool.algorithms.base import Outcome, Proposal
from evofool.algorithms.map_elites import MapElites, MapElitesSettings
from evofool.encodings.genome_batch import GenomeBatch, concat, take
from evofool.encodings.protocol import Encoding
from evofool.errors import ConfigError
from evofool.evaluation.unit import Evaluator
from evofool.randomness import RunRandomness
from evofool.settings import positive, probability

MIN_EMITTER_CHILDREN = 4  # a CMA-ES recombines the best half of a batch


MAX_SIGMA = 100.0  # ten weight bounds: a larger first step only draws clipped weights


@dataclass(frozen=True)
class CmaMeSettings(MapElitesSettings):
    """``algorithm: {type: cma_me, ...}``: MapElitesSettings' keys, and ``emitters``
    CMA-ES emitters proposing ``emitter_share`` of each generation's children, each
    starting with step ``sigma`` (in weight units; CPPN weights span +-weight_bound)."""

    encodings: ClassVar[frozenset[str]] = frozenset({"cppn"})  # it searches over weights

    type: Literal["cma_me"] = "cma_me"
    emitters: int = positive(8)  # CMA-ES emitters, each following its own class
    emitter_share: float = probability(0.5)  # share of each generation's children from emitters
    sigma: float = positive(0.2)  # the emitters' initial step size, in weight units

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sigma > MAX_SIGMA:
            raise ConfigError(f"algorithm.sigma must be at most {MAX_SIGMA:g} (weights live in "
                              f"+-weight_bound, 10 by default), not {self.sigma:g}")
        per_emitter = round(self.batch_size * self.emitter_share) // self.emitters
        if per_emitter < MIN_EMITTER_CHILDREN:
            raise ConfigError(
                f"algorithm: {self.emitters} emitters get {per_emitter} children each from "
                f"batch_size {self.batch_size} x emitter_share {self.emitter_share:g}; "
                f"each needs at least {MIN_EMITTER_CHILDREN}")


@dataclass
class Emitter:
    """One CMA-ES over the weights of ``parent`` (a one-genome batch) with its topology
    fixed; ``parent_id`` and ``cell`` (in the parent pool) are every child's lineage."""

    parent: GenomeBatch
    parent_id: int
    cell: int
    strategy: Any  # ribs.emitters.opt.CMAEvolutionStrategy


class CmaMapElites(MapElites):
    """MAP-Elites (one cell per class, every child offered to every class) whose children
    after generation 0 are ``emitters`` CMA-ES emitters' samples and MAP-Elites mutants.

    Settings (CmaMeSettings): MapElites' (brightness_bins, parents and
    mutation_strength apply to the mutants and to where emitters restart), and
        emitters: how many CMA-ES run side by side, each from its own elite.
        emitter_share: the share of each generation's children they propose.
        sigma: each strategy's first step size.
    """

    def __init__(self, settings: CmaMeSettings, *, encoding: Encoding,
                 evaluator: Evaluator, rng: RunRandomness) -> None:
        super().__init__(settings, encoding=encoding, evaluator=evaluator, rng=rng)
        try:
            from ribs.emitters.opt import CMAEvolutionStrategy
        except ImportError as error:
            raise ConfigError("algorithm.type cma_me needs pyribs: pip install "
                              "'evofool[qd]' (or ribs)") from error
        self._strategy_type = CMAEvolutionStrategy
        self.sigma = settings.sigma
        emitted = round(settings.batch_size * settings.emitter_share)
        self._mutant_count = settings.batch_size - emitted
        share, extra = divmod(emitted, settings.emitters)
        self._emitter_counts = [share + (index < extra) for index in range(settings.emitters)]
        self.emitters: list[Emitter | None] = [None] * settings.emitters

    def ask(self) -> Proposal:
        """Generation 0: random genomes; after: the mutants, then each emitter's samples
        (an emitter without a strategy first starts one from a random elite)."""
        if self.generation == 0:
            return super().ask()
        parts, ids, parent_cells = [], [], []
        if self._mutant_count:
            genomes, parent_ids, cells = self._mutants(self._mutant_count)
            parts, ids, parent_cells = [genomes], [parent_ids], [cells]
        for index, count in enumerate(self._emitter_counts):
            if self.emitters[index] is None:
                self.emitters[index] = self._start(count)
            emitter = self.emitters[index]
            if emitter is None:  # no elite has a weight to search over: mutants instead
                genomes, parent_ids, cells = self._mutants(count)
            else:
                genomes = self.encoding.with_weights(emitter.parent, self._sample(emitter, count))
                parent_ids = torch.full((count,), emitter.parent_id, device=self.rng.device)
                cells = torch.full((count,), emitter.cell, device=self.rng.device)
            parts.append(genomes)
            ids.append(parent_ids)
            parent_cells.append(cells)
        return Proposal(concat(parts), torch.cat(ids), eligible=self._eligible,
                        parent_cells=torch.cat(parent_cells), must_beat=self._thresholds,
                        with_brightness=self.stepping_stones is not None)

    def tell(self, proposal: Proposal, outcome: Outcome) -> None:
        """MAP-Elites' learners, then each strategy from its children: those that took a
        cell, best improvement first, are its parents; none, or a collapsed strategy,
        and the emitter restarts next generation."""
        super().tell(proposal, outcome)
        if self.generation == 0:
            return
        start = self._mutant_count
        for index, count in enumerate(self._emitter_counts):
            taken = outcome.added.cells_taken[start:start + count].cpu()
            improvement = outcome.added.improvement[start:start + count].cpu().double()
            start += count
            emitter = self.emitters[index]
            if emitter is None:
                continue
            values = torch.where(taken > 0, improvement, float("-inf"))
            ranking = torch.sort(values, descending=True, stable=True).indices.numpy()
            ranked, kept = values.numpy()[ranking], int((taken > 0).sum())
            emitter.strategy.tell(ranking, ranked, kept)
            if kept == 0 or emitter.strategy.check_stop(ranked[:kept]):
                self.emitters[index] = None

    def _start(self, count: int) -> Emitter | None:
        """A strategy at the weights of an elite drawn from the parent pool's occupied
        cells that have a connection; None where none has."""
        pool = self._parent_pool()
        wired = pool.genomes["connected"].flatten(1).any(dim=1) & pool.occupied
        cells = wired.nonzero().squeeze(1)
        if cells.numel() == 0:
            return None
        cell = cells[self.rng.integers(cells.numel(), 1)]
        parent = take(pool.genomes, cell)
        strategy = self._strategy(self.encoding.weights(parent).double().cpu().numpy(), count)
        return Emitter(parent, int(pool.genome_id[cell]), int(cell), strategy)

    def _strategy(self, mean: np.ndarray, count: int) -> Any:
        """A fresh CMA-ES at ``mean`` with step ``sigma``, sampling ``count`` at a time."""
        strategy = self._strategy_type(sigma0=self.sigma, solution_dim=mean.size,
                                       batch_size=count, dtype=np.float64)
        strategy.reset(mean)
        return strategy

    def _sample(self, emitter: Emitter, count: int) -> torch.Tensor:
        """(count, W) samples of the emitter's strategy, drawn from the run's generator."""
        emitter.strategy._rng = np.random.default_rng(int(self.rng.integers(2**62, 1)))
        return torch.from_numpy(np.array(emitter.strategy.ask(count))).to(self.rng.device)

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(),
                "emitters": [None if emitter is None else {
                    "parent": {key: value.cpu() for key, value in emitter.parent.items()},
                    "parent_id": emitter.parent_id, "cell": emitter.cell,
                    "strategy": _strategy_state(emitter.strategy)}
                    for emitter in self.emitters]}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        super()._load_extra_state(state)
        saved = state.get("emitters") or [None] * len(self.emitters)
        if len(saved) != len(self.emitters):
            raise ConfigError(f"the checkpoint has {len(saved)} emitters, the config "
                              f"{len(self.emitters)}: algorithm.emitters cannot change on resume")
        self.emitters = [None if entry is None else self._restore(entry, count)
                         for entry, count in zip(saved, self._emitter_counts, strict=True)]

    def _restore(self, entry: dict[str, Any], count: int) -> Emitter:
        saved = entry["strategy"]
        strategy = self._strategy(saved["mean"].numpy(), count)
        strategy.sigma, strategy.current_eval = saved["sigma"], saved["current_eval"]
        strategy.pc, strategy.ps = saved["pc"].numpy(), saved["ps"].numpy()
        for key in MATRICES:
            setattr(strategy.cov, key, saved[key].numpy())
        strategy.cov.condition_number = saved["condition_number"]
        strategy.cov.updated_eval = saved["updated_eval"]
        parent = {key: value.to(self.rng.device) for key, value in entry["parent"].items()}
        return Emitter(parent, entry["parent_id"], entry["cell"], strategy)


MATRICES = ("cov", "eigenbasis", "eigenvalues", "invsqrt")  # a strategy's DecompMatrix


def _strategy_state(strategy: Any) -> dict[str, Any]:
    """What a CMA-ES has learnt, as tensors and numbers (a checkpoint holds no pickles)."""
    return {"mean": torch.from_numpy(strategy.mean.copy()), "sigma": float(strategy.sigma),
            "current_eval": int(strategy.current_eval),
            "pc": torch.from_numpy(strategy.pc.copy()), "ps": torch.from_numpy(strategy.ps.copy()),
            **{key: torch.from_numpy(np.array(getattr(strategy.cov, key))) for key in MATRICES},
            "condition_number": float(strategy.cov.condition_number),
            "updated_eval": int(strategy.cov.updated_eval)}
