"""torch eager: the reference every other engine is checked against, and the one that
differentiates (gradient ascent)."""

from evofool.engines.engine import EXACT_TOLERANCE, Engine

TORCH = Engine(name="torch", available=lambda: True, devices=("cpu", "cuda", "mps"),
               differentiable=True, tolerance=EXACT_TOLERANCE, build=None)
