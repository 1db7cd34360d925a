"""Genomes in, scores out: what a search asks of an evaluator, in-process or on Ray actors."""

from evofool.evaluation.local import LocalEvaluator
from evofool.evaluation.unit import Evaluation, Evaluator, brightness_bands

__all__ = ["Evaluation", "Evaluator", "LocalEvaluator", "brightness_bands"]
