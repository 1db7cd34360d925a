"""Evaluation on Ray actors: each actor receives genomes and returns their scores.

Each actor builds the model and the encoding once and owns a
``LocalEvaluator``; a batch of genomes is cut into one contiguous shard per
actor, each actor renders, scores and describes its shard, and the results
are put back in order, so an algorithm cannot tell where its children were
scored (a test checks the champions match a local run's, bitwise). That holds
by design, not by luck of the processor: shards are whole chunks of the size
local scoring uses (``evaluator.chunk_size``), every actor uses the driver's
engine (``auto`` is resolved once, in the driver) and thread count, a genome is
drawn the same way whatever else is in its batch (``cpu_kernel``), and
brightness is an integer sum. A generation spreads over at most
``children / max_batch`` actors: lower ``evaluator.max_batch`` to use more.
If an actor dies, its shard is evaluated again on a live actor, a replacement
is started, and the failure is logged: no evaluation is lost.

With a screen (evofool.evaluation.screen) a screened generation takes two
rounds: actors screen their shards, the driver picks the candidates (the rule
and its state live here), and the candidates go out again in whole chunks of
the exact engine's size, as a local run scores them, so the archive is the
local run's, bitwise. An actor keeps the shard it screened: of its own
candidates only their places travel. Rendering a candidate twice is the price.

Gradient ascent sends its images and targets instead, in whole chunks of the exact
engine's size, and gets each image's probabilities and gradient back.

What crosses the network per generation: genomes out (for a CPPN, a few KB
each: ``Encoding.genome_bytes``) and per child its probabilities (K float32,
from each engine that scored it) and brightness back. Pixels never travel, and
the archive and randomness never leave the driver. For the direct encoding
the genome is the image, so it travels as it is.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from evofool.defenses import DefenseChain
from evofool.encodings.genome_batch import GenomeBatch
from evofool.encodings.protocol import Encoding
from evofool.engines import attach_engine
from evofool.errors import EvofoolError
from evofool.evaluation.devices import check_memory_plan
from evofool.evaluation.ray_actor import Scores, Shard, ShardEvaluator, stacked
from evofool.evaluation.ray_cluster import join_cluster, ray_module
from evofool.evaluation.scorer import chunk_size, screening_max_batch
from evofool.evaluation.screen import Screen
from evofool.evaluation.settings import EvaluatorSettings
from evofool.evaluation.unit import Evaluation, MustBeat, scored
from evofool.models.in_memory import held, is_module_spec
from evofool.ood.gate import SCORE_CHUNK, DetectorGate

log = logging.getLogger(__name__)


# (actor slot, start, stop) -> the future of that actor's scores of children start:stop
Send = Callable[[int, int, int], Any]


class RayEvaluator:
    """Evaluates genomes on ``ray_actors`` Ray actors (one GPU each where
    ``ray_gpus_per_actor`` is 1).

    Args:
        encoding: how actors draw genomes (sent to each actor once).
        classifier: the driver's copy, for class names and the engine's resolution only.
        settings: the run's ``evaluator`` section: how each actor builds its scorer
            (evofool.evaluation.scorer.scorer_for), how many actors (``ray_actors``), one
            GPU each or none (``ray_gpus_per_actor``), and the cluster (``ray_address``: an
            existing one, ``ray://host:10001`` or ``auto``; None starts a local instance).
        model_specs: what each actor loads.
        seed: the run's seed (random defences' keys).
        engine: ``auto`` is resolved here, in the driver, and every actor uses the result.
        gate: the run's fitted detector gate, or None: each actor rebuilds it from its plain
            data (``DetectorGate.state``) and returns its shard's outlier scores, and the
            driver ranks by the gated fitness, as a local run does.
        screen: the run's screen, or None: each actor loads its engine, the driver keeps
            its rule and state.

    Attributes:
        bytes_sent, bytes_returned: payload bytes of genomes out and results back, in all.
        seconds_waiting: time the driver spent waiting for actors, in all.
        last_round_seconds: per round trip of the last evaluation (two where a generation
            is screened: screen, then the candidates exactly), each shard's seconds on its
            actor.
        failures: actors that died.
    """

    def __init__(self, encoding: Encoding, classifier: Any, settings: EvaluatorSettings, *,
                 model_specs: list[str], engine: str, seed: int = 0,
                 gate: DetectorGate | None = None, screen: Screen | None = None) -> None:
        actors, gpus_per_actor = settings.ray_actors, settings.ray_gpus_per_actor
        if actors < 1:
            raise EvofoolError(f"evaluator.ray_actors must be at least 1, not {actors}")
        ray = join_cluster(actors, settings.ray_address)
        self.class_names = classifier.class_names
        self.device = torch.device("cpu")  # the driver: genomes and archive live here
        self.images_scored = 0
        self.bytes_sent = self.bytes_returned = 0
        self.seconds_waiting = 0.0
        self.last_round_seconds: list[list[float]] = []
        self._worker_class = ray.remote(num_cpus=1, num_gpus=gpus_per_actor)(ShardEvaluator)
        device = torch.device("cuda" if gpus_per_actor else "cpu")
        chain = DefenseChain(settings.defense_chain, classifier.input_spec)
        # the driver's memory stands in for the actors' (a cluster's are alike, as a rule)
        check_memory_plan(chain.memory_plan(classifier.input_spec), torch.device("cpu"))
        self.chunk = chunk_size(settings.max_batch, chain.samples)
        self.engine = attach_engine(classifier, engine=engine, device=device, batch=self.chunk)
        self.gate = gate
        self.screen = screen
        # shards are whole chunks of what scores images in fixed chunks: the engine's, the
        # screen's and the detector's (SCORE_CHUNK), so each image is scored as locally
        units = [self.chunk]
        if gate is not None:
            units.append(SCORE_CHUNK)
        if screen is not None:
            units.append(chunk_size(screening_max_batch(settings, screen.engine), chain.samples))
        self.shard_unit = math.lcm(*units)
        self._options = dict(encoding=encoding, model_specs=model_specs, settings=settings,
                             model_objects=[held(spec) for spec in model_specs
                                            if is_module_spec(spec)],
                             device=device.type, engine=self.engine,
                             threads=torch.get_num_threads(), seed=seed,
                             gate_state=None if gate is None else gate.state(),
                             screen_engine=None if screen is None else screen.engine)
        self.actors = [self._start_actor() for _ in range(actors)]
        # actor slot -> (generation, start, stop): the screened shard that actor keeps
        self._held: dict[int, tuple[int, int, int]] = {}
        self.failures = 0

    def evaluate(self, genomes: GenomeBatch, *, generation: int, with_brightness: bool = False,
                 must_beat: MustBeat | None = None) -> Evaluation:
        """Probabilities (N, K) and brightness on the driver, in the order of ``genomes``;
        behind the screen where there is one and the search says what each child must beat."""
        arrays = {key: value.detach().cpu().numpy() for key, value in genomes.items()}
        count = len(next(iter(arrays.values())))
        self.last_round_seconds = []
        if self.screen is None or must_beat is None:
            scores = self._round(count, self.shard_unit, self._shards(
                arrays, generation, with_brightness=with_brightness))
            return scored(scores.exact, scores.brightness, self.gate, scores.outlier)
        decision = self.screen.decide(generation)
        scores = self._round(count, self.shard_unit, self._shards(
            arrays, generation, with_brightness=with_brightness,
            exact=decision.exact_for_all, screened=decision.screens_all))

        def exact_of(chosen: torch.Tensor) -> torch.Tensor:
            # the candidates in their order, in whole exact chunks: as a local run scores them
            return self._round(len(chosen), self.chunk,
                               self._candidates(arrays, chosen.numpy(), generation)).exact

        probabilities, stats = self.screen.conclude(
            decision, must_beat(scores.brightness), scores.screened, scores.exact, exact_of)
        return Evaluation(probabilities, probabilities, None, scores.brightness, stats)

    def _shards(self, arrays: Shard, generation: int, *, with_brightness: bool,
                exact: bool = True, screened: bool = False) -> Send:
        """Sends children ``start:stop`` to the actor in a slot; a screened shard stays with
        its actor for the candidates' round (``_held``)."""
        def send(slot: int, start: int, stop: int):
            shard = {key: value[start:stop] for key, value in arrays.items()}
            self.bytes_sent += sum(value.nbytes for value in shard.values())
            if screened:
                self._held[slot] = (generation, start, stop)
            return self.actors[slot].evaluate.remote(
                shard, generation=generation, first_child=start,
                with_brightness=with_brightness, exact=exact, screened=screened)
        return send

    def _candidates(self, arrays: Shard, children: np.ndarray, generation: int) -> Send:
        """Sends candidates ``start:stop`` (``children``: their places in the generation) to
        the actor in a slot, with the genomes of those it did not screen itself."""
        def send(slot: int, start: int, stop: int):
            wanted = children[start:stop]
            held = self._held.get(slot)
            own = np.zeros(len(wanted), dtype=bool) if held is None or held[0] != generation \
                else (wanted >= held[1]) & (wanted < held[2])
            others = {key: value[wanted[~own]] for key, value in arrays.items()}
            self.bytes_sent += wanted.nbytes + sum(value.nbytes for value in others.values())
            return self.actors[slot].evaluate_candidates.remote(generation, wanted, others)
        return send

    def log_probability_gradient(self, images: torch.Tensor, targets: torch.Tensor
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Gradient ascent's step: probabilities (N, K) and each image's gradient of log
        p(its target), computed by the actors on whole chunks of images, as locally."""
        pixels, chosen = images.detach().cpu().numpy(), targets.cpu().numpy()

        def send(slot: int, start: int, stop: int):
            self.bytes_sent += pixels[start:stop].nbytes + chosen[start:stop].nbytes
            return self.actors[slot].log_probability_gradient.remote(pixels[start:stop],
                                                                     chosen[start:stop])
        self.last_round_seconds = []
        ordered = self._gather(len(pixels), self.chunk, send)
        self.images_scored += len(pixels)
        return stacked(ordered, 0), stacked(ordered, 1)

    def _round(self, count: int, unit: int, send: Send) -> Scores:
        """One round trip of genomes (``_gather``), its scores put back in order."""
        ordered = self._gather(count, unit, send)
        if ordered[0][0] is not None:
            self.images_scored += count
        return Scores.of(ordered)

    def _gather(self, count: int, unit: int, send: Send) -> list[tuple]:
        """One round trip: ``count`` items cut into one run of whole ``unit``-sized chunks
        per actor, ``send`` to it, the results (each ending with the actor's seconds) in
        order. A run whose actor dies is sent again to a live one."""
        ray = ray_module()
        chunk_count = -(-count // unit)
        # whole chunks per shard, so each image is scored in the chunk local scoring uses
        bounds = [(part[0] * unit, min(count, (part[-1] + 1) * unit))
                  for part in np.array_split(np.arange(chunk_count), len(self.actors))
                  if len(part)]
        # shard index -> (actor slot, future)
        pending = {index: (index, send(index, *bounds[index])) for index in range(len(bounds))}
        results: dict[int, tuple] = {}
        waiting_since = time.perf_counter()
        while pending:
            index, (slot, future) = pending.popitem()
            try:
                results[index] = ray.get(future)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as error:
                self.failures += 1
                self.actors[slot] = self._start_actor()
                self._held.pop(slot, None)
                retry = (slot + 1) % len(self.actors)
                message = (f"evaluation actor {slot} died ({type(error).__name__}); its shard "
                           f"of {bounds[index][1] - bounds[index][0]} genomes is evaluated "
                           f"again on actor {retry}, and a replacement is starting")
                log.warning(message)
                print(f"evofool: {message}", file=sys.stderr)
                pending[index] = (retry, send(retry, *bounds[index]))
        self.seconds_waiting += time.perf_counter() - waiting_since
        ordered = [results[index] for index in sorted(results)]
        self.last_round_seconds.append([result[-1] for result in ordered])
        self.bytes_returned += sum(array.nbytes for result in ordered for array in result[:-1]
                                   if array is not None)
        return ordered

    def _start_actor(self):
        return self._worker_class.remote(**self._options)
