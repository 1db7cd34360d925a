"""Engines that run a classifier's forward: torch eager, ONNX Runtime, OpenVINO, each a
registered part (evofool.engines.registry)."""

from evofool.engines.engine import Engine
from evofool.engines.onnx_export import EngineError
from evofool.engines.registry import engine_named, engines, exact_choices, screen_choices
from evofool.engines.selection import attach_engine

__all__ = ["Engine", "EngineError", "attach_engine", "engine_named", "engines",
           "exact_choices", "screen_choices"]
