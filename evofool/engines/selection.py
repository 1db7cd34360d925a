"""Which engine scores a run: torch eager, or ONNX Runtime where it is as exact and faster.

How much faster ONNX Runtime is depends on model and processor: 2.2x for
EfficientNet-Lite0, 1.8x for ResNet-50 but 0.96-1.23x for LeNet on a 2-core Intel
Xeon (issue 13); 3.8x, 1.5x and 1.5x on the project's 2-core AMD EPYC
(``benchmarks/engines.py``, BENCHMARKS.md). So ``auto`` does not pick by rule: it
times both engines once per model, input shape, thread count and batch, and
caches the decision; a run records the engine it used, and a
resumed run keeps it (a re-timed choice could otherwise change its numbers).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time

import torch

from evofool.atomic_files import write_atomically
from evofool.cache import cache_dir
from evofool.engines.onnx_export import EngineError, export_onnx, onnx_path
from evofool.engines.onnxruntime_forward import OnnxRuntimeForward, onnxruntime_available
from evofool.models.classifier import Classifier

ENGINES = ("auto", "torch", "onnxruntime")
# Largest probability difference from torch an engine may show on the probe batch.
PROBE_TOLERANCE = 1e-5
PROBE_IMAGES = 4
TIMING_BATCH_CAP = 128  # auto times at the evaluator's chunk size, at most this
TIMING_REPEATS = 3
MIN_TIMING_SECONDS = 0.2


def members_of(classifier) -> list[Classifier]:
    """The Classifiers inside a classifier or an ensemble."""
    return list(getattr(classifier, "members", [classifier]))


def attach_engine(classifier, *, engine: str, device: torch.device, batch: int) -> str:
    """Attach ``engine`` to every member of ``classifier``; return the engine that scores.

    ``torch`` attaches nothing. ``onnxruntime`` exports each member (cached), checks
    a probe batch against torch and attaches a session, or raises. ``auto`` does
    the same where ONNX Runtime is installed and the device is the CPU, keeps
    it only if it is not slower than torch at ``batch``, and otherwise (with a
    warning where something failed) leaves torch.

    Raises:
        EngineError: ``onnxruntime`` asked for where it cannot run or is not exact.
    """
    if engine not in ENGINES:
        raise EngineError(f"evaluator.engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "torch":
        return "torch"
    if device.type != "cpu":
        if engine == "onnxruntime":
            raise EngineError(f"evaluator.engine onnxruntime runs on the CPU here, not {device}; "
                              "use evaluator.engine torch (or auto) on this device")
        return "torch"
    if not onnxruntime_available():
        if engine == "onnxruntime":
            raise EngineError("evaluator.engine onnxruntime needs ONNX Runtime: "
                              "pip install 'evofool[onnx]'")
        return "torch"
    members = members_of(classifier)
    try:
        forwards = [_checked_forward(member) for member in members]
    except EngineError as error:
        if engine == "onnxruntime":
            raise
        print(f"evofool: warning: {error}; scoring with torch", file=sys.stderr)
        return "torch"
    if engine == "auto" and not _onnxruntime_is_faster(members, forwards, batch):
        return "torch"
    for member, forward in zip(members, forwards, strict=True):
        member.engine = forward
    return "onnxruntime"


def _checked_forward(member: Classifier) -> OnnxRuntimeForward:
    forward = OnnxRuntimeForward(export_onnx(member), threads=torch.get_num_threads())
    generator = torch.Generator().manual_seed(0)
    probe = torch.rand(PROBE_IMAGES, *member.input_spec.shape, generator=generator)
    with torch.inference_mode():
        expected = member.probabilities_at_model_size(probe.to(_device_of(member)))
    difference = float((forward(probe) - expected.cpu()).abs().max())
    if not difference <= PROBE_TOLERANCE:
        raise EngineError(f"ONNX Runtime's probabilities for {member.name} differ from torch's "
                          f"by {difference:.2g} (more than {PROBE_TOLERANCE:g}); "
                          "use --set evaluator.engine=torch")
    return forward


def _device_of(member: Classifier) -> torch.device:
    return next(iter(member.parameters()), torch.empty(0)).device


def _onnxruntime_is_faster(members: list[Classifier], forwards: list[OnnxRuntimeForward],
                           batch: int) -> bool:
    """Time both engines once (interleaved, best of a few); the verdict is cached."""
    batch = max(1, min(batch, TIMING_BATCH_CAP))
    key = hashlib.sha256("|".join([*(str(onnx_path(member)) for member in members),
                                   str(torch.get_num_threads()), str(batch)]).encode()
                         ).hexdigest()[:24]
    decisions_file = cache_dir() / "onnx" / "auto-decisions.json"
    decisions = json.loads(decisions_file.read_text()) if decisions_file.exists() else {}
    if key not in decisions:
        print(f"evofool: timing ONNX Runtime against torch for "
              f"{', '.join(member.name for member in members)} at batch {batch} (once; the "
              "verdict is cached)", file=sys.stderr, flush=True)
        images = torch.rand(batch, *members[0].input_spec.shape,
                            generator=torch.Generator().manual_seed(1))
        laid_out = images.contiguous(memory_format=torch.channels_last)  # as the evaluator does
        torch_best = onnx_best = float("inf")
        with torch.inference_mode():
            for _ in range(TIMING_REPEATS):  # interleaved, so load on the machine hits both
                torch_best = min(torch_best, _seconds_per_call(lambda: [
                    member.probabilities_at_model_size(laid_out) for member in members]))
                onnx_best = min(onnx_best, _seconds_per_call(lambda: [
                    forward(images) for forward in forwards]))
        decisions[key] = {"models": [member.name for member in members], "batch": batch,
                          "torch_seconds": torch_best, "onnxruntime_seconds": onnx_best}
        decisions_file.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(decisions_file, json.dumps(decisions, indent=1))
    verdict = decisions[key]
    return verdict["onnxruntime_seconds"] <= verdict["torch_seconds"]


def _seconds_per_call(work) -> float:
    """Mean seconds per call over at least MIN_TIMING_SECONDS: one call of a small model
    takes milliseconds, too short to time once on a machine with other load."""
    calls, started = 0, time.perf_counter()
    while True:
        work()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= MIN_TIMING_SECONDS:
            return elapsed / calls
