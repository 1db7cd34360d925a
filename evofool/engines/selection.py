"""Which engine scores a run: a named one, or (``auto``) the fastest exact one here.

How much faster ONNX Runtime is depends on model and processor: 2.2x for
EfficientNet-Lite0, 1.8x for ResNet-50 but 0.96-1.23x for LeNet on a 2-core Intel
Xeon (issue 13); 3.8x, 1.5x and 1.5x on the project's 2-core AMD EPYC
(``benchmarks/engines.py``, BENCHMARKS.md). So ``auto`` does not pick by rule: it
times the exact engines available here (evofool.engines.registry) against torch
once per model, input shape, thread count and batch, and caches the decision; a
run records the engine it used, and a resumed run keeps it (a re-timed choice
could otherwise change its numbers). ``EVOFOOL_AUTO_ENGINE=NAME`` makes ``auto``
pick NAME without timing.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

import torch

from evofool.engines.engine import Engine, Forward
from evofool.engines.onnx_export import EngineError, onnx_path
from evofool.engines.registry import engine_named, engines
from evofool.files.atomic import write_once
from evofool.files.cache import cache_dir
from evofool.models.classifier import Classifier

PROBE_IMAGES = 4
TIMING_BATCH_CAP = 128  # auto times at the evaluator's chunk size, at most this
TIMING_REPEATS = 3
# Each engine timed over at least 0.1 s, best of three interleaved: a new model's verdict in
# ~0.9 s instead of 1.8 s at 0.2 s, the same verdicts (LeNet at batch 1 and 128, 4 of 4
# each; EfficientNet-Lite0 at batch 8, whose ONNX Runtime and OpenVINO times lie within 5 %,
# 4 of 4 where 0.2 s gave 3 of 4; AMD EPYC Zen 5; 0.05 s flipped one LeNet verdict).
MIN_TIMING_SECONDS = 0.1
SCREEN_PAYS = 1.3  # a screen must score this much faster than the exact engine to be used
# Set to an exact engine's name, ``auto`` picks it without timing: the same engine on every
# machine of a cluster, or the test suite's second pass over each engine (Makefile).
FORCED_AUTO = "EVOFOOL_AUTO_ENGINE"


def members_of(classifier) -> list[Classifier]:
    """The Classifiers inside a classifier or an ensemble."""
    return list(getattr(classifier, "members", [classifier]))


def attach_engine(classifier, *, engine: str, device: torch.device, batch: int) -> str:
    """Attach ``engine`` to every member of ``classifier``; return the engine that scores.

    A named engine is built for each member and checked against torch on a probe
    batch within its promised tolerance, or raises. ``auto`` does the same for
    every exact engine available on ``device``, times them and torch once at
    ``batch`` (the verdict is cached), and keeps the fastest; an engine that
    fails there is left out with a warning.

    Raises:
        EngineError: an unknown engine, or a named one that cannot run here or that
            differs from torch by more than it promises.
    """
    if engine == "auto":
        return _attach_fastest(classifier, device, batch)
    chosen = engine_named(engine)
    _check_runs_here(chosen, device)
    if chosen.build is not None:
        forwards = [_checked_forward(chosen, member) for member in members_of(classifier)]
        for member, forward in zip(members_of(classifier), forwards, strict=True):
            member.engine = forward
    return chosen.name


def _check_runs_here(engine: Engine, device: torch.device) -> None:
    if device.type not in engine.devices:
        raise EngineError(f"engine {engine.name} runs on {', '.join(engine.devices)}, not "
                          f"{device}; use evaluator.engine torch (or auto) on this device")
    if not engine.available():
        raise EngineError(f"engine {engine.name} is not available here: {engine.install}")


def _attach_fastest(classifier, device: torch.device, batch: int) -> str:
    forced = os.environ.get(FORCED_AUTO, "").strip()
    if forced:
        exact = [engine.name for engine in engines() if engine.exact]
        if forced not in exact:
            raise EngineError(f"{FORCED_AUTO}={forced} names no exact engine (one of "
                              f"{', '.join(exact)})")
        return attach_engine(classifier, engine=forced, device=device, batch=batch)
    members = members_of(classifier)
    built = _built_for_auto(members, device, lambda engine: engine.exact, "auto")
    if not built:
        return "torch"
    seconds = _timings(members, built, batch)
    fastest = min(["torch", *built], key=lambda name: seconds[name])
    if fastest != "torch":
        for member, forward in zip(members, built[fastest], strict=True):
            member.engine = forward
    return fastest


def choose_screen(seconds: dict[str, float]) -> str | None:
    """What ``evaluator.screen.engine: auto`` screens with, from the engines' timing here
    (``engine_seconds``): of the engines that are not exact and at least SCREEN_PAYS times
    as fast as the fastest exact engine, the most faithful (smallest ``screen_margin``: a
    wider margin sends more children on to the exact engine), the fastest of those; None
    where none pays. So OpenVINO bf16 (margin 0.5; offered only with bf16 instructions)
    where it pays, else ONNX Runtime int8 (margin 2.0)."""
    paying = [name for name in seconds if not engine_named(name).exact
              and screen_cost_ratio(seconds, name) <= 1 / SCREEN_PAYS]
    if not paying:
        return None
    return min(paying, key=lambda name: (engine_named(name).screen_margin, seconds[name]))


def engine_seconds(classifier, device: torch.device, batch: int, *,
                   also: str | None = None) -> dict[str, float]:
    """Seconds per batch of torch and of every engine ``auto`` may pick or screen with
    here (and ``also``, a named one auto does not offer), timed once per model, engines,
    threads and batch (the verdict is cached)."""
    members = members_of(classifier)
    built = _built_for_auto(members, device, lambda engine: True, "the screen")
    if also is not None and also not in built and also != "torch":
        built[also] = [_checked_forward(engine_named(also), member) for member in members]
    return _timings(members, built, batch)


def screen_cost_ratio(seconds: dict[str, float], screen: str) -> float:
    """What a child's screened score costs in exact scores of the fastest exact engine
    (evofool.evaluation.screen decides each generation from it)."""
    exact = min(value for name, value in seconds.items() if engine_named(name).exact)
    return seconds[screen] / exact


def _built_for_auto(members: list[Classifier], device: torch.device, wanted,
                    chooser: str) -> dict[str, list[Forward]]:
    """Each ``wanted`` engine that ``auto`` may pick and that runs here, built and checked
    for every member; one that fails is left out with a warning naming ``chooser``."""
    built: dict[str, list[Forward]] = {}
    for engine in engines():
        if (engine.build is None or not engine.offered_by_auto or not wanted(engine)
                or device.type not in engine.devices or not engine.available()):
            continue
        try:
            built[engine.name] = [_checked_forward(engine, member) for member in members]
        except EngineError as error:
            print(f"evofool: warning: {error}; {chooser} leaves {engine.name} out",
                  file=sys.stderr)
    return built


def _checked_forward(engine: Engine, member: Classifier) -> Forward:
    forward = engine.build(member)
    generator = torch.Generator().manual_seed(0)
    probe = torch.rand(PROBE_IMAGES, *member.input_spec.shape, generator=generator)
    with torch.inference_mode():
        expected = member.probabilities_at_model_size(probe.to(_device_of(member)))
    difference = float((forward(probe) - expected.cpu()).abs().max())
    if not difference <= engine.tolerance:
        raise EngineError(f"{engine.name}'s probabilities for {member.name} differ from "
                          f"torch's by {difference:.2g} (more than {engine.tolerance:g}); "
                          "use --set evaluator.engine=torch")
    return forward


def _device_of(member: Classifier) -> torch.device:
    return next(iter(member.parameters()), torch.empty(0)).device


def _timings(members: list[Classifier], built: dict[str, list[Forward]],
             batch: int) -> dict[str, float]:
    """Seconds per batch of torch and each built engine, timed once (interleaved, best of
    a few) per model, engines, threads and batch; the verdict is cached."""
    batch = max(1, min(batch, TIMING_BATCH_CAP))
    key = hashlib.sha256("|".join([*(str(onnx_path(member)) for member in members),
                                   *sorted(built), str(torch.get_num_threads()),
                                   str(batch)]).encode()).hexdigest()[:24]
    verdict = cache_dir() / "onnx" / "auto-decisions" / f"{key}.json"
    if not verdict.exists():
        print(f"evofool: timing {', '.join(built)} against torch for "
              f"{', '.join(member.name for member in members)} at batch {batch} (once; the "
              "verdict is cached)", file=sys.stderr, flush=True)
        images = torch.rand(batch, *members[0].input_spec.shape,
                            generator=torch.Generator().manual_seed(1))
        laid_out = images.contiguous(memory_format=torch.channels_last)  # as the evaluator does
        calls = {"torch": lambda: [member.probabilities_at_model_size(laid_out)
                                   for member in members],
                 **{name: (lambda forwards=forwards: [forward(images) for forward in forwards])
                    for name, forwards in built.items()}}
        best = dict.fromkeys(calls, float("inf"))
        with torch.inference_mode():
            for _ in range(TIMING_REPEATS):  # interleaved, so load on the machine hits all
                for name, call in calls.items():
                    best[name] = min(best[name], _seconds_per_call(call))
        verdict.parent.mkdir(parents=True, exist_ok=True)
        # one file per verdict, and the first one written stands: processes timing the
        # same model at once (two runs, an experiment's rounds and its copy) then score
        # on the same engine, and none loses another's verdict (one shared file lost them)
        write_once(verdict, json.dumps({"models": [member.name for member in members],
                                        "batch": batch, "seconds": best}))
    return json.loads(verdict.read_text())["seconds"]


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
