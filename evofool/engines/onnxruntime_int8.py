"""Scoring on ONNX Runtime in int8: a screen that needs no bf16 instructions.

The exported float32 forward (evofool.engines.onnx_export) is quantized once
per model and cached beside it: static QDQ, weights int8 per output channel,
activations uint8 with ranges calibrated on CPPN images at the model's size
(what a run scores), the softmax left in float32 so small probabilities keep
their resolution. Integer matrix kernels exist on every x86-64 processor
(AVX2; faster with VNNI), so this screen can pay where bf16 cannot: EfficientNet-
Lite0 at 2.2x ONNX Runtime's float32 on an AMD EPYC Zen 5 (2.1x measured on an
AVX2-only Zen 3), ranks (child, class) pairs with Spearman 0.93 of log p there,
but probabilities are off by up to ~0.5: it may only screen (BENCHMARKS.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from evofool.engines.engine import Engine
from evofool.engines.onnx_export import INPUT_NAME, EngineError, export_onnx
from evofool.engines.onnxruntime_forward import OnnxRuntimeForward, onnxruntime_available
from evofool.files.atomic import write_atomically
from evofool.models.classifier import Classifier

INT8_TOLERANCE = 0.75  # measured: max |dp| 0.48 on EfficientNet-Lite0 over CPPN images
CALIBRATION_IMAGES = 64
CALIBRATION_CHUNK = 8
CALIBRATION_MUTATIONS = 30  # rounds of mutation before rendering: images like a run's
RECIPE = "qdq-perchannel-minmax-cppn64-v1"  # in the cache name: a new recipe quantizes anew


def typical_cppn_images(shape: tuple[int, int, int], count: int = CALIBRATION_IMAGES
                        ) -> torch.Tensor:
    """``count`` CPPN renders at ``shape`` (C, H, W) from a fixed seed, after
    CALIBRATION_MUTATIONS rounds of mutation: images like a run's, the same on every call
    (the quantizer's activation ranges; benchmarks/engines.py's comparison images)."""
    from evofool.encodings.cppn.encoding import CppnEncoding
    from evofool.randomness import RunRandomness

    encoding = CppnEncoding(*shape)
    randomness = RunRandomness(0)
    genomes = encoding.random(count, randomness)
    for generation in range(CALIBRATION_MUTATIONS):
        genomes = encoding.offspring(genomes, None, randomness, generation)
    return encoding.render(genomes).clone()


def quantized_path(classifier: Classifier) -> Path:
    """The int8 model for ``classifier``, quantized on first use and cached beside its
    float32 export (named after it, the recipe and ONNX Runtime's version).

    Raises:
        EngineError: the quantizer cannot handle the model.
    """
    import onnxruntime

    source = export_onnx(classifier)
    path = source.with_name(f"{source.stem}-int8-{RECIPE}-ort{onnxruntime.__version__}.onnx")
    if path.exists():
        return path
    print(f"evofool: quantizing {classifier.name} to int8 for the onnxruntime-int8 screen "
          f"(once; cached in {path.parent})", file=sys.stderr, flush=True)
    try:
        write_atomically(path, _quantized(source, typical_cppn_images(classifier.input_spec.shape)))
    except Exception as error:  # an operator the quantizer or its shape inference lacks
        raise EngineError(f"{classifier.name} cannot be quantized to int8: "
                          f"{str(error).strip().splitlines()[0][:200]}; use another "
                          "evaluator.screen.engine") from error
    return path


def _quantized(source: Path, images: torch.Tensor) -> bytes:
    import tempfile

    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Renders(CalibrationDataReader):
        def __init__(self) -> None:
            self.chunks = iter([{INPUT_NAME: chunk.numpy()}
                                for chunk in images.split(CALIBRATION_CHUNK)])

        def get_next(self):
            return next(self.chunks, None)

    with tempfile.TemporaryDirectory() as scratch:
        prepared, quantized = Path(scratch) / "prepared.onnx", Path(scratch) / "int8.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        softmax = [node.name for node in onnx.load(str(prepared)).graph.node
                   if node.op_type == "Softmax"]
        quantize_static(str(prepared), str(quantized), Renders(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, nodes_to_exclude=softmax)
        return quantized.read_bytes()


def _build(classifier: Classifier) -> OnnxRuntimeForward:
    return OnnxRuntimeForward(quantized_path(classifier), threads=torch.get_num_threads())


ONNXRUNTIME_INT8 = Engine(name="onnxruntime-int8", available=onnxruntime_available,
                          devices=("cpu",), differentiable=False, tolerance=INT8_TOLERANCE,
                          build=_build, screen_batch=32, screen_margin=2.0,
                          install="pip install 'evofool[onnx]'")
