"""The engines a config can name; a new engine is its module plus one line here.

``evaluator.engine`` takes ``auto`` or an exact engine; ``evaluator.screen.engine``
takes ``auto`` or any engine that is not exact (evofool.engines.engine).
"""

from __future__ import annotations

from evofool.engines.engine import Engine
from evofool.engines.onnx_export import EngineError
from evofool.engines.onnxruntime_forward import ONNXRUNTIME
from evofool.engines.onnxruntime_int8 import ONNXRUNTIME_INT8
from evofool.engines.openvino_forward import OPENVINO, OPENVINO_BF16
from evofool.engines.torch_bf16 import TORCH_BF16
from evofool.engines.torch_engine import TORCH

_ENGINES: dict[str, Engine] = {}


def register(engine: Engine) -> None:
    """Raises: ValueError for a name that is taken, or a screening (not exact) engine that
    does not say what margin its scores need."""
    if engine.name in _ENGINES:
        raise ValueError(f"engine {engine.name!r} is registered already")
    if not engine.exact and engine.screen_margin is None:
        raise ValueError(f"engine {engine.name!r} is not exact, so it screens: it needs a "
                         "screen_margin")
    _ENGINES[engine.name] = engine


register(TORCH)
register(ONNXRUNTIME)
register(OPENVINO)
register(OPENVINO_BF16)
register(TORCH_BF16)
register(ONNXRUNTIME_INT8)


def engines() -> list[Engine]:
    return list(_ENGINES.values())


def engine_named(name: str) -> Engine:
    """Raises: EngineError naming the registered engines."""
    if name not in _ENGINES:
        raise EngineError(f"unknown engine {name!r} (registered: {', '.join(_ENGINES)})")
    return _ENGINES[name]


def exact_choices() -> list[str]:
    """What ``evaluator.engine`` accepts."""
    return ["auto", *(engine.name for engine in engines() if engine.exact)]


def screen_choices() -> list[str]:
    """What ``evaluator.screen.engine`` accepts."""
    return ["auto", *(engine.name for engine in engines() if not engine.exact)]
