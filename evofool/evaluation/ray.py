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

What crosses the network per generation: the children's genomes out (for
a CPPN, a few KB each: ``Encoding.genome_bytes``) and per child its
probabilities (K float32) and brightness back. Pixels never travel, and
the archive and randomness never leave the driver. For the direct encoding
the genome is the image, so it travels as it is.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from typing import Any

import numpy as np
import torch

from evofool.defenses import DefenseChain
from evofool.encodings.genome_batch import GenomeBatch
from evofool.encodings.protocol import Encoding
from evofool.engines import attach_engine
from evofool.errors import EvofoolError
from evofool.evaluation.devices import check_memory_plan
from evofool.evaluation.local import LocalEvaluator
from evofool.evaluation.ray_reaper import start_reaper
from evofool.evaluation.scorer import chunk_size, scorer_for
from evofool.evaluation.settings import EvaluatorSettings
from evofool.evaluation.unit import Evaluation, MustBeat, scored
from evofool.ood.gate import SCORE_CHUNK, DetectorGate

log = logging.getLogger(__name__)

Shard = dict[str, np.ndarray]
# probabilities, brightness, outlier scores, the actor's seconds
ShardResult = tuple[np.ndarray, np.ndarray | None, np.ndarray | None, float]


def _numpy(values: torch.Tensor | None) -> np.ndarray | None:
    return None if values is None else values.cpu().numpy()


def _ray():
    try:
        import ray
    except ImportError as error:
        raise EvofoolError("evaluator.backend ray needs Ray: pip install 'evofool[ray]'"
                           ) from error
    return ray


class _ShardEvaluator:
    """Runs inside a Ray actor: one model and encoding, loaded once, evaluating shards."""

    def __init__(self, encoding: Encoding, model_specs: list[str], settings: EvaluatorSettings,
                 device: str, engine: str, threads: int, seed: int,
                 gate_state: dict[str, Any] | None) -> None:
        from evofool.models import load_classifiers  # in the actor's process

        torch.set_num_threads(threads)
        classifier = load_classifiers(model_specs, settings.combine)
        scorer = scorer_for(classifier, settings, engine=engine, device=device)
        gate = None if gate_state is None else DetectorGate.from_state(gate_state, classifier)
        self.evaluator = LocalEvaluator(encoding, scorer, gate=gate, seed=seed)

    def evaluate(self, shard: Shard, with_brightness: bool, generation: int, first_child: int
                 ) -> ShardResult:
        """Probabilities, brightness and outlier scores (None where not asked for or no gate)
        and the seconds this shard took here."""
        started = time.perf_counter()
        genomes = {key: torch.from_numpy(value) for key, value in shard.items()}
        result = self.evaluator.evaluate(genomes, generation=generation,
                                         with_brightness=with_brightness,
                                         first_child=first_child)
        return (result.probabilities.cpu().numpy(), _numpy(result.brightness),
                _numpy(result.outlier_scores), time.perf_counter() - started)


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

    Attributes:
        bytes_sent, bytes_returned: payload bytes of genomes out and results back, in all.
        seconds_waiting: time the driver spent waiting for actors, in all.
        last_shard_seconds: each actor's own time on its shard, last generation.
        failures: actors that died.
    """

    screen = None  # a screen needs the exact engine beside it: local only (config says so)

    def __init__(self, encoding: Encoding, classifier: Any, settings: EvaluatorSettings, *,
                 model_specs: list[str], engine: str, seed: int = 0,
                 gate: DetectorGate | None = None) -> None:
        ray = _ray()
        actors, gpus_per_actor = settings.ray_actors, settings.ray_gpus_per_actor
        address = settings.ray_address
        if actors < 1:
            raise EvofoolError(f"evaluator.ray_actors must be at least 1, not {actors}")
        if not ray.is_initialized():
            if address is None:  # a local cluster: its processes must not outlive the run
                start_reaper()
            # "local": a cluster of the run's own, even where another runs on this machine
            # (Ray would join that one, and refuse the num_cpus it is given)
            ray.init(address=address or "local", include_dashboard=False, log_to_driver=False,
                     **({} if address else {"num_cpus": max(actors, 1)}))
        self.class_names = classifier.class_names
        self.device = torch.device("cpu")  # the driver: genomes and archive live here
        self.images_scored = 0
        self.bytes_sent = self.bytes_returned = 0
        self.seconds_waiting = 0.0
        self.last_shard_seconds: list[float] = []
        self._worker_class = ray.remote(num_cpus=1, num_gpus=gpus_per_actor)(_ShardEvaluator)
        device = torch.device("cuda" if gpus_per_actor else "cpu")
        chain = DefenseChain(settings.defense_chain, classifier.input_spec)
        # the driver's memory stands in for the actors' (a cluster's are alike, as a rule)
        check_memory_plan(chain.memory_plan(classifier.input_spec), torch.device("cpu"))
        self.chunk = chunk_size(settings.max_batch, chain.samples)
        self.engine = attach_engine(classifier, engine=engine, device=device, batch=self.chunk)
        self.gate = gate
        # shards are whole chunks of what scores images in fixed chunks: the engine's and,
        # with a gate, the detector's (SCORE_CHUNK), so each image is scored as locally
        self.shard_unit = self.chunk if gate is None else math.lcm(self.chunk, SCORE_CHUNK)
        self._options = dict(encoding=encoding, model_specs=model_specs, settings=settings,
                             device=device.type, engine=self.engine,
                             threads=torch.get_num_threads(), seed=seed,
                             gate_state=None if gate is None else gate.state())
        self.actors = [self._start_actor() for _ in range(actors)]
        self.failures = 0

    def evaluate(self, genomes: GenomeBatch, *, generation: int, with_brightness: bool = False,
                 must_beat: MustBeat | None = None) -> Evaluation:
        """Probabilities (N, K) and brightness on the driver, in the order of ``genomes``."""
        ray = _ray()
        arrays = {key: value.detach().cpu().numpy() for key, value in genomes.items()}
        count = len(next(iter(arrays.values())))
        chunk_count = -(-count // self.shard_unit)
        # whole chunks per shard, so each image is scored in the chunk local scoring uses
        bounds = [(part[0] * self.shard_unit, min(count, (part[-1] + 1) * self.shard_unit))
                  for part in np.array_split(np.arange(chunk_count), len(self.actors))
                  if len(part)]
        shards = [{key: value[start:stop] for key, value in arrays.items()}
                  for start, stop in bounds]
        self.bytes_sent += sum(value.nbytes for shard in shards for value in shard.values())
        # shard index -> (actor slot, future)
        def send(actor, index):
            return actor.evaluate.remote(shards[index], with_brightness, generation,
                                         bounds[index][0])

        pending = {index: (index, send(self.actors[index], index))
                   for index in range(len(shards))}
        results: dict[int, ShardResult] = {}
        waiting_since = time.perf_counter()
        while pending:
            index, (slot, future) = pending.popitem()
            try:
                results[index] = ray.get(future)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as error:
                self.failures += 1
                self.actors[slot] = self._start_actor()
                retry = (slot + 1) % len(self.actors)
                message = (f"evaluation actor {slot} died ({type(error).__name__}); its shard "
                           f"of {bounds[index][1] - bounds[index][0]} genomes is evaluated "
                           f"again on actor {retry}, and a replacement is starting")
                log.warning(message)
                print(f"evofool: {message}", file=sys.stderr)
                pending[index] = (retry, send(self.actors[retry], index))
        self.seconds_waiting += time.perf_counter() - waiting_since
        ordered = [results[index] for index in sorted(results)]
        self.last_shard_seconds = [result[-1] for result in ordered]
        self.bytes_returned += sum(array.nbytes for result in ordered for array in result[:-1]
                                   if array is not None)
        self.images_scored += count
        probabilities, brightness, outlier = (
            None if ordered[0][column] is None
            else torch.from_numpy(np.concatenate([result[column] for result in ordered]))
            for column in range(3))
        return scored(probabilities, brightness, self.gate, outlier)

    def _start_actor(self):
        return self._worker_class.remote(**self._options)
