"""What an engine is: a registered way to run a classifier's forward after its resize.

Each engine module defines one (or a few) ``Engine`` values and the registry
(evofool.engines.registry) lists them with one line each; the config's
allowed values, ``auto`` and the engine contract tests all read the registry.
An engine that is not ``exact`` (a reduced-precision one) never scores what
the archive keeps: it may only screen children (evaluator.screen), whose
promising ones the exact engine then scores again.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import torch

from evofool.models.classifier import Classifier

EXACT_TOLERANCE = 1e-5  # what an exact engine promises: probabilities within this of torch's


def installed(*packages: str) -> bool:
    """Whether every package is installed, found without importing it: importing onnx alone
    costs half a second, which every run that asks would pay even with its ONNX file cached."""
    return all(importlib.util.find_spec(package) is not None for package in packages)


class Forward(Protocol):
    """Images at the model's size (N, C, H, W) in [0, 1] -> probabilities (N, K), CPU."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class Engine:
    """One registered engine.

    Attributes:
        name: what configs call it (``evaluator.engine``, ``evaluator.screen.engine``).
        available: whether it can run here (its library installed; for reduced precision,
            the processor instructions that make it pay).
        devices: device types it runs on.
        differentiable: whether gradients flow through it (gradient ascent needs that).
        tolerance: the largest probability difference from torch it promises on a probe
            batch; EXACT_TOLERANCE for engines that may score the archive.
        build: the classifier's forward on this engine (None: torch itself, nothing to
            attach). Raises EngineError where the model cannot run on it.
        install: how to get it, for the message when it is missing.
        offered_by_auto: whether ``auto`` may pick it when it is the fastest exact engine.
        screen_batch: images per call when it screens, where smaller calls run faster than
            the run's chunk (None: the run's chunk). OpenVINO bf16 scores EfficientNet-Lite0
            at 16 images per call ~12 % faster than at 400 (BENCHMARKS.md); a screen's
            chunking changes which children it sends on, never an exact score.
        screen_margin: the log-odds a screened score is widened by unless the config sets
            ``evaluator.screen.margin``: about the 98th percentile of its log-odds error
            against float32 on CPPN images (None for exact engines, which never screen).
    """

    name: str
    available: Callable[[], bool]
    devices: tuple[str, ...]
    differentiable: bool
    tolerance: float
    build: Callable[[Classifier], Forward] | None
    install: str = ""
    offered_by_auto: bool = True
    screen_batch: int | None = None
    screen_margin: float | None = None

    @property
    def exact(self) -> bool:
        return self.tolerance <= EXACT_TOLERANCE


@cache
def cpu_flags() -> frozenset[str]:
    """The processor's feature flags (``/proc/cpuinfo``; empty where there is none), less
    those above ``ONEDNN_MAX_CPU_ISA`` where it caps what oneDNN (torch's and OpenVINO's
    kernels) may use: under ``ONEDNN_MAX_CPU_ISA=AVX2`` OpenVINO cannot compile for bf16
    however the processor is, so nothing may count on bf16 there."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return _below_isa_cap(frozenset(line.partition(":")[2].split()),
                          os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper())


def _below_isa_cap(flags: frozenset[str], cap: str) -> frozenset[str]:
    """``flags`` without those a oneDNN ISA cap (``AVX2``, ``AVX512_CORE_VNNI``, ...) rules
    out; no cap, ``ALL`` or ``DEFAULT``: all of them."""
    if cap in ("", "ALL", "DEFAULT"):
        return flags
    dropped = set()
    if not cap.startswith("AVX512") and "AMX" not in cap:
        dropped |= {flag for flag in flags if flag.startswith("avx512")}
    if "AMX" not in cap:
        dropped |= {flag for flag in flags if flag.startswith("amx")}
    if not any(word in cap for word in ("BF16", "AMX", "FP16")):
        dropped |= {flag for flag in flags if "bf16" in flag}
    if "VNNI" not in cap and not cap.startswith("AVX512_CORE_") and "AMX" not in cap:
        dropped |= {flag for flag in flags if "vnni" in flag}
    return flags - dropped
