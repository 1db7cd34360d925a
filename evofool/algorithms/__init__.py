"""Search algorithms: they compose an encoding, an evaluator and an archive."""

from evofool.algorithms.genetic import GeneticAlgorithm
from evofool.algorithms.gradient_ascent import GradientAscent
from evofool.algorithms.map_elites import MapElites

__all__ = ["GeneticAlgorithm", "GradientAscent", "MapElites"]
