"""An engine registered from the tests (tests/conftest.py), to show that a new engine is
one module plus one registration line, and that the engine contract tests pick it up:
torch's forward in float64, rounded back to float32."""

import copy

import torch

from evofool.engines.engine import EXACT_TOLERANCE, Engine


def _build(classifier):
    double = copy.deepcopy(classifier).double()
    double.engine = None

    def forward(images: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return double.probabilities_at_model_size(images.double()).float()

    return forward


TORCH_FLOAT64 = Engine(name="torch-float64", available=lambda: True, devices=("cpu",),
                       differentiable=False, tolerance=EXACT_TOLERANCE, build=_build,
                       offered_by_auto=False)  # slower than torch by design
