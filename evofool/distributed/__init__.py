"""Scoring spread over workers (Ray): optional, ``pip install 'evofool[ray]'``."""

from evofool.distributed.ray_evaluator import RayEvaluator

__all__ = ["RayEvaluator"]
