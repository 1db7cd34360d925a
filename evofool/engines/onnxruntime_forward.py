"""Scoring on ONNX Runtime: the exported forward as a callable the Classifier can use."""

from __future__ import annotations

from pathlib import Path

import torch

from evofool.engines.engine import EXACT_TOLERANCE, Engine, installed
from evofool.engines.onnx_export import INPUT_NAME, EngineError, export_onnx
from evofool.models.classifier import Classifier


def onnxruntime_available() -> bool:
    return installed("onnx", "onnxruntime")  # onnx: torch's exporter needs it


class OnnxRuntimeForward:
    """Images at the model's size (N, C, H, W) in [0, 1] to probabilities, on the CPU.

    Threads follow torch's setting, so ``torch.set_num_threads`` (and the
    OMP/MKL variables that set it) govern both engines alike. Results for an
    image do not depend on the other images in its batch beyond what the
    evaluator's fixed chunking already fixes.
    """

    def __init__(self, model_path: Path, *, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its warnings are about graph fusions
        try:
            self.session = onnxruntime.InferenceSession(str(model_path), options,
                                                        providers=["CPUExecutionProvider"])
        except Exception as error:  # a corrupt cache file, an unsupported op
            raise EngineError(f"ONNX Runtime cannot load {model_path}: {error}; delete it or "
                              "use --set evaluator.engine=torch") from error

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        array = images.detach().float().contiguous().numpy()
        (probabilities,) = self.session.run(None, {INPUT_NAME: array})
        return torch.from_numpy(probabilities)


def _build(classifier: Classifier) -> OnnxRuntimeForward:
    return OnnxRuntimeForward(export_onnx(classifier), threads=torch.get_num_threads())


ONNXRUNTIME = Engine(name="onnxruntime", available=onnxruntime_available, devices=("cpu",),
                     differentiable=False, tolerance=EXACT_TOLERANCE, build=_build,
                     install="pip install 'evofool[onnx]'")
