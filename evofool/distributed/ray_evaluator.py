"""Scoring on Ray actors: the same interface as BatchedEvaluator, spread over workers.

Each actor loads the model once and owns a local BatchedEvaluator; a batch is
cut into one contiguous shard per actor and the probabilities are put back
in order, so an algorithm cannot tell which evaluator scored its children
(a test checks the champions match local scoring). That holds by design, not
by luck of the processor: shards are whole chunks of the size local scoring
uses (``evaluator.chunk_size``), every actor uses the driver's engine (``auto``
is resolved once, in the driver) and the driver's thread count. So a
generation spreads over at most ``children / max_batch`` actors: lower
``evaluator.max_batch`` to use more. If an actor dies, its
shard is scored again on a live actor, a replacement is started, and the
failure is logged: no evaluation is lost and the run goes on.

What crosses the network per generation: the rendered images out (N x C x H
x W float32) and the probabilities back (N x K float32). Genomes, archive and
randomness never leave the driver.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np
import torch

from evofool.engines import attach_engine
from evofool.errors import EvofoolError
from evofool.evaluator import BatchedEvaluator, chunk_size

log = logging.getLogger(__name__)


def _ray():
    try:
        import ray
    except ImportError as error:
        raise EvofoolError("evaluator.backend ray needs Ray: pip install 'evofool[ray]'"
                           ) from error
    return ray


class _ScoringWorker:
    """Runs inside a Ray actor: one classifier, loaded once, scoring shards."""

    def __init__(self, model_specs: list[str], combine: str, device: str, max_batch: int,
                 amp: bool, ten_crop: bool, engine: str, threads: int) -> None:
        from evofool.models import load_classifiers  # in the actor's process

        torch.set_num_threads(threads)
        self.evaluator = BatchedEvaluator(load_classifiers(model_specs, combine), device=device,
                                          max_batch=max_batch, amp=amp, ten_crop=ten_crop,
                                          engine=engine)

    def score(self, images: np.ndarray) -> np.ndarray:
        return self.evaluator.score(torch.from_numpy(images)).cpu().numpy()


class RayEvaluator:
    """Scores batches on ``actors`` Ray actors (one GPU each when ``gpus_per_actor`` is 1).

    Args:
        classifier: the driver's copy, for class names and shape checks only.
        model_specs, combine, amp, ten_crop, max_batch: how each actor builds its evaluator.
        engine: ``auto`` is resolved here, in the driver, and every actor uses the result.
        actors: how many actors.
        gpus_per_actor: 0 for CPU actors, 1 for one GPU each.
        address: an existing cluster (``ray://host:10001`` or ``auto``); None starts a
            local instance.
    """

    def __init__(self, classifier: Any, *, model_specs: list[str], combine: str,
                 max_batch: int, amp: bool, ten_crop: bool, engine: str, actors: int,
                 gpus_per_actor: float = 0, address: str | None = None) -> None:
        ray = _ray()
        if actors < 1:
            raise EvofoolError(f"evaluator.ray_actors must be at least 1, not {actors}")
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     **({} if address else {"num_cpus": max(actors, 1)}))
        self.classifier = classifier
        self.device = torch.device("cpu")  # the driver: genomes and archive live here
        self.images_scored = 0
        self._worker_class = ray.remote(num_cpus=1, num_gpus=gpus_per_actor)(_ScoringWorker)
        device = torch.device("cuda" if gpus_per_actor else "cpu")
        self.chunk = chunk_size(max_batch, ten_crop)
        self.engine = attach_engine(classifier, engine=engine, device=device, batch=self.chunk)
        self._options = dict(model_specs=model_specs, combine=combine, device=device.type,
                             max_batch=max_batch, amp=amp, ten_crop=ten_crop, engine=self.engine,
                             threads=torch.get_num_threads())
        self.actors = [self._start_actor() for _ in range(actors)]
        self.failures = 0

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.classifier.class_names

    def score(self, images: torch.Tensor) -> torch.Tensor:
        """Probabilities (N, K) on the driver, in the order of ``images``."""
        ray = _ray()
        self.classifier.check_shape(images)
        pixels = images.detach().cpu().numpy()
        chunk_count = -(-len(pixels) // self.chunk)
        # whole chunks per shard, so each image is scored in the chunk local scoring uses
        shards = [pixels[part[0] * self.chunk:(part[-1] + 1) * self.chunk] if len(part)
                  else pixels[:0]
                  for part in np.array_split(np.arange(chunk_count), len(self.actors))]
        # shard index -> (actor slot, future)
        pending = {index: (index, self.actors[index].score.remote(shard))
                   for index, shard in enumerate(shards) if len(shard)}
        results: dict[int, np.ndarray] = {}
        while pending:
            index, (slot, future) = pending.popitem()
            try:
                results[index] = ray.get(future)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as error:
                self.failures += 1
                self.actors[slot] = self._start_actor()
                retry = (slot + 1) % len(self.actors)
                message = (f"scoring actor {slot} died ({type(error).__name__}); its shard of "
                           f"{len(shards[index])} images is scored again on actor {retry}, "
                           "and a replacement is starting")
                log.warning(message)
                print(f"evofool: {message}", file=sys.stderr)
                pending[index] = (retry, self.actors[retry].score.remote(shards[index]))
        self.images_scored += images.shape[0]
        return torch.from_numpy(np.concatenate([results[i] for i in sorted(results)]))

    def _start_actor(self):
        return self._worker_class.remote(**self._options)
