"""evofool: evolve images that trained classifiers label with near-certainty.

After Nguyen, Yosinski & Clune, "Deep Neural Networks are Easily Fooled" (CVPR 2015).

The Python API (evofool.api): ``evofool.evolve(model, config, **settings)`` runs evolution
against a ``torch.nn.Module`` or a model spec and returns a ``Run``; ``evofool.n_plus_one`` runs
the n+1 experiment (an ``Experiment``); ``evofool.open_run`` opens either; ``evofool.ood_report``,
``evofool.defend`` and ``evofool.transfer`` score fooling images on OOD detectors, under input
defences and on other models. They load on first
use, so ``import evofool`` (and the command line) stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["EvofoolError", "Experiment", "Run", "defend", "evolve", "ood_report", "open_run",
           "retrain", "transfer"]

if TYPE_CHECKING:
    from evofool.api import Experiment, Run, defend, evolve, ood_report, open_run, retrain, transfer
    from evofool.errors import EvofoolError


def __getattr__(name: str) -> Any:
    if name == "EvofoolError":
        from evofool.errors import EvofoolError

        return EvofoolError
    if name in __all__:
        import evofool.api

        return getattr(evofool.api, name)
    raise AttributeError(f"module 'evofool' has no attribute {name!r}")
