"""Scoring on OpenVINO (extra ``evofool[openvino]``): the exported ONNX forward, compiled for
the CPU in float32 (exact) or bfloat16 (a screen).

OpenVINO reads the same cached ONNX file ONNX Runtime does. Its bf16 mode runs
the network's matrix work on the processor's bf16 instructions (AVX512_BF16,
AMX): about twice ONNX Runtime's float32 rate on an AMD EPYC with avx512_bf16
(issue 22's table), but probabilities off by up to ~0.2, so it may only screen
children (evaluator.screen) and is offered only where those instructions exist.
"""

from __future__ import annotations

from pathlib import Path

import torch

from evofool.engines.engine import EXACT_TOLERANCE, Engine, cpu_flags, installed
from evofool.engines.onnx_export import EngineError, export_onnx
from evofool.models.classifier import Classifier

BF16_FLAGS = ("amx_bf16", "avx512_bf16")
BF16_TOLERANCE = 0.5  # what the bf16 screen may be off by (measured: max |dp| 0.2)


def openvino_available() -> bool:
    return installed("onnx", "openvino")  # onnx: torch's exporter needs it


def bf16_available() -> bool:
    """OpenVINO is installed and the processor computes in bf16 natively (elsewhere the
    precision hint would be emulated and pay nothing)."""
    return openvino_available() and any(flag in cpu_flags() for flag in BF16_FLAGS)


class OpenVinoForward:
    """Images at the model's size (N, C, H, W) in [0, 1] to probabilities, on the CPU, with
    torch's thread count."""

    def __init__(self, model_path: Path, *, precision: str, threads: int) -> None:
        import openvino

        try:
            core = openvino.Core()
            self.compiled = core.compile_model(core.read_model(str(model_path)), "CPU", {
                "INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": threads,
                "PERFORMANCE_HINT": "LATENCY"})
        except Exception as error:  # an op it lacks, a corrupt cache file
            raise EngineError(f"OpenVINO cannot compile {model_path}: "
                              f"{str(error).strip().splitlines()[0][:200]}; use "
                              "--set evaluator.engine=torch") from error
        self.request = self.compiled.create_infer_request()

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        array = images.detach().float().contiguous().numpy()
        # Zero-copy: OpenVINO reads the images where they lie (copying them cost ~3 % of a
        # screened ImageNet generation). Every call shares: a copying call after a sharing
        # one would write into the previous call's array.
        result = self.request.infer({0: array}, share_inputs=True)
        return torch.from_numpy(result[self.compiled.output(0)].copy())


def _builder(precision: str):
    def build(classifier: Classifier) -> OpenVinoForward:
        return OpenVinoForward(export_onnx(classifier), precision=precision,
                               threads=torch.get_num_threads())
    return build


OPENVINO = Engine(name="openvino", available=openvino_available, devices=("cpu",),
                  differentiable=False, tolerance=EXACT_TOLERANCE, build=_builder("f32"),
                  install="pip install 'evofool[openvino]'")
OPENVINO_BF16 = Engine(name="openvino-bf16", available=bf16_available, devices=("cpu",),
                       differentiable=False, tolerance=BF16_TOLERANCE, build=_builder("bf16"),
                       screen_batch=16, screen_margin=0.5,
                       install="pip install 'evofool[openvino]' on a processor with "
                               "avx512_bf16 or amx_bf16")
