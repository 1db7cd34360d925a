"""Search algorithms: they compose an encoding, an evaluation and an archive (see base)."""

from evofool.algorithms.base import Evolution, Outcome, Proposal, Search
from evofool.algorithms.genetic import GeneticAlgorithm
from evofool.algorithms.gradient_ascent import GradientAscent
from evofool.algorithms.map_elites import MapElites
from evofool.algorithms.registry import ALGORITHMS

__all__ = ["ALGORITHMS", "Evolution", "GeneticAlgorithm", "GradientAscent", "MapElites",
           "Outcome", "Proposal", "Search"]
