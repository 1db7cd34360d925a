"""evofool from Python: fool a model object (or any model spec) and read the run back.

The command line's ``run`` and ``resume`` go through the same functions (evofool.api.evolve).
"""

from evofool.api.analyses import defend, ood_report, transfer
from evofool.api.evolve import evolve, open_run
from evofool.api.retrain import Experiment, retrain
from evofool.api.run import Champion, Run

__all__ = ["Champion", "Experiment", "Run", "defend", "evolve", "ood_report", "open_run", "retrain",
           "transfer"]
