"""The one place that imports torchvision, timm and pytorch-ood.

Why this module exists: the torchvision wheel that pairs with torch 2.13 on the
project machines is a CUDA build. Against a CPU-only torch its compiled
extension cannot load, so the ``torchvision::nms`` and ``torchvision::qnms``
operators are never defined, and ``import torchvision`` then fails while
registering fake (meta) kernels for them with
``RuntimeError: operator torchvision::nms does not exist``. timm imports
torchvision, so it fails the same way.

The fix, applied only when the plain import fails that way: forget the
half-imported modules, define the two operator schemas ourselves, and import
again. The models and transforms do not use these detection operators, so
defining their schemas without kernels is harmless; calling ``nms`` would still
fail loudly. Where torchvision's extension loads (a matching CUDA or CPU
build), the plain import succeeds and nothing is defined, so the extension's
own registration is never shadowed.

Every import of torchvision, timm or pytorch-ood in evofool goes through this module.
"""

from __future__ import annotations

import sys
from types import ModuleType

import torch

_MISSING_OPERATOR_MESSAGE = "torchvision::nms does not exist"
_DETECTION_OPERATOR_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor",
)
# Held for the life of the process: dropping a Library object unregisters it.
_schema_library: torch.library.Library | None = None


def import_torchvision() -> ModuleType:
    """Return the torchvision module, defining missing operator schemas if needed."""
    global _schema_library
    try:
        import torchvision
    except RuntimeError as error:
        if _MISSING_OPERATOR_MESSAGE not in str(error) or _schema_library is not None:
            raise
        _forget_modules("torchvision")
        _schema_library = torch.library.Library("torchvision", "DEF")
        for schema in _DETECTION_OPERATOR_SCHEMAS:
            _schema_library.define(schema)
        import torchvision
    return torchvision


def import_timm() -> ModuleType:
    """Return the timm module; torchvision is imported first through the shim."""
    import_torchvision()
    import timm

    return timm


def import_pytorch_ood() -> ModuleType:
    """Return pytorch_ood with its detector and metrics modules; torchvision first through
    the shim. Raises ImportError when the ``ood`` extra is not installed."""
    import_torchvision()
    import pytorch_ood
    import pytorch_ood.detector
    import pytorch_ood.metrics

    return pytorch_ood


def _forget_modules(prefix: str) -> None:
    for name in [name for name in sys.modules if name == prefix or name.startswith(prefix + ".")]:
        del sys.modules[name]
