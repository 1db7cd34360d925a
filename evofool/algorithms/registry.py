"""The search algorithms a config can name (``algorithm.type``); a new one is one line here."""

from __future__ import annotations

from evofool.algorithms.cma_me import CmaMapElites, CmaMeSettings
from evofool.algorithms.genetic import GeneticAlgorithm, GeneticSettings
from evofool.algorithms.gradient_ascent import AscentSettings, GradientAscent
from evofool.algorithms.map_elites import MapElites, MapElitesSettings
from evofool.settings import Registry

ALGORITHMS = Registry("algorithm")
ALGORITHMS.register(MapElitesSettings, MapElites)
ALGORITHMS.register(CmaMeSettings, CmaMapElites)
ALGORITHMS.register(GeneticSettings, GeneticAlgorithm)
ALGORITHMS.register(AscentSettings, GradientAscent)
