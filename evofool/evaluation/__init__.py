"""Genomes in, scores out: what a search asks of an evaluation, in-process or on Ray actors."""

from evofool.evaluation.local import LocalEvaluation
from evofool.evaluation.unit import Evaluation, GenomeEvaluation, brightness_bands

__all__ = ["Evaluation", "GenomeEvaluation", "LocalEvaluation", "brightness_bands"]
