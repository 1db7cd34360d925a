"""Engines that run a classifier's forward: torch eager (built in) or ONNX Runtime."""

from evofool.engines.onnx_export import EngineError
from evofool.engines.selection import ENGINES, attach_engine

__all__ = ["ENGINES", "EngineError", "attach_engine"]
