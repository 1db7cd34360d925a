"""torch under bf16 autocast: a screen that runs wherever torch does.

Slower than ONNX Runtime's float32 on processors without bf16 matrix units
(0.42x on an AMD EPYC, issue 22's table), so ``auto`` never picks it; it is
there for a screen on any machine (tests, a CUDA-less laptop) and as the
reference a faster bf16 engine is compared with.
"""

from __future__ import annotations

import copy

import torch

from evofool.engines.engine import Engine
from evofool.models.classifier import Classifier

BF16_TOLERANCE = 0.5  # measured: max |dp| 0.17 on EfficientNet-Lite0 (issue 22)


def _build(classifier: Classifier):
    private = copy.deepcopy(classifier).cpu().eval()
    private.engine = None

    def forward(images: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return private.probabilities_at_model_size(images).float()

    return forward


TORCH_BF16 = Engine(name="torch-bf16", available=lambda: True, devices=("cpu",),
                    differentiable=False, tolerance=BF16_TOLERANCE, build=_build,
                    offered_by_auto=False, screen_margin=0.5)
