"""The training loop every recipe shares, reproducible from a seed, and accuracy.

Adam with a one-cycle schedule, batches of 64 drawn by a seeded generator:
the same seed and data give the same network on the CPU.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

BATCH_SIZE = 64
PEAK_LEARNING_RATE = 1e-3
LOG_EVERY_SECONDS = 30.0  # a progress line in logs (no terminal) at least this often
EpochRows = Callable[[torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class TrainingResult:
    """What a recipe reports: the saved model's test accuracy and where it is."""

    test_accuracy: float
    path: Path


def as_unit_floats(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float [0, 1], as networks here are fed."""
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)


def fit(network: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, *, epochs: int,
        seed: int, what: str, learning_rate: float = PEAK_LEARNING_RATE,
        epoch_indices: EpochRows | None = None,
        parameters: Iterable[torch.nn.Parameter] | None = None,
        progress: bool = True) -> torch.nn.Module:
    """Train ``network`` (in place) on [0, 1] ``images`` (N, C, H, W) and int64 ``labels``.

    Args:
        seed: seeds the batch order (and, set before the network was built, its weights).
        what: names the network in progress lines ("LeNet").
        epoch_indices: which rows one epoch visits, drawn with the given generator
            (repeats allowed; the n+1 experiment balances its garbage class this way);
            default: every row once.
        parameters: the ones to train (default all); with a subset the network stays in
            eval mode, so batch-norm statistics are kept as they were, and the others are
            frozen meanwhile, so backpropagation stops where the trained ones end.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, not {epochs}")
    # Channels-last while training: LeNet's convolutions take 10 ms a step of 64 digits in
    # that layout against 18 ms in the usual one (2-core AMD EPYC Zen 5, twice the CPU); the
    # network is handed back in the usual layout.
    layout = torch.channels_last if images.dim() == 4 else torch.contiguous_format
    network.to(memory_format=layout)
    generator = torch.Generator().manual_seed(seed)
    draw = epoch_indices or (lambda gen: torch.arange(len(images)))
    steps_per_epoch = -(-len(draw(torch.Generator().manual_seed(seed))) // BATCH_SIZE)
    trained = list(network.parameters() if parameters is None else parameters)
    optimizer = torch.optim.Adam(trained, lr=learning_rate)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=learning_rate, total_steps=epochs * steps_per_epoch)
    # A bar on a terminal; one line per epoch in logs (a bar there is a wall of \r).
    interactive = progress and sys.stderr.isatty()
    bar = tqdm(total=epochs * steps_per_epoch, disable=not interactive, file=sys.stderr,
               desc=f"training {what}", unit="batch")
    logged = time.monotonic()
    if progress and not interactive:
        print(f"evofool: training {what}: {epochs} epochs of {steps_per_epoch} batches",
              file=sys.stderr, flush=True)
    network.train(parameters is None)
    with _only_trained(network, trained):
        for epoch in range(epochs):
            rows = draw(generator)
            order = rows[torch.randperm(len(rows), generator=generator)]
            for step, batch in enumerate(order.split(BATCH_SIZE), start=1):
                loss = F.cross_entropy(
                    network(images[batch].contiguous(memory_format=layout)), labels[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                bar.update()
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.4f}", refresh=False)
                if progress and not interactive and time.monotonic() - logged >= LOG_EVERY_SECONDS:
                    logged = time.monotonic()
                    print(f"evofool: training {what}: epoch {epoch + 1}/{epochs}, batch "
                          f"{step}/{steps_per_epoch}", file=sys.stderr, flush=True)
            if progress and not interactive:
                print(f"evofool: training {what}: epoch {epoch + 1}/{epochs}, last batch loss "
                      f"{loss.item():.4f}", file=sys.stderr, flush=True)
    bar.close()
    return network.to(memory_format=torch.contiguous_format).eval()


@contextmanager
def _only_trained(network: torch.nn.Module, trained: list[torch.nn.Parameter]):
    """Within: the network's parameters outside ``trained`` need no gradient (restored on
    leaving), so training a head does not backpropagate through the whole network."""
    keep = {id(parameter) for parameter in trained}
    frozen = [parameter for parameter in network.parameters()
              if parameter.requires_grad and id(parameter) not in keep]
    for parameter in frozen:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in frozen:
            parameter.requires_grad_(True)


def test_accuracy(network: torch.nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of uint8 ``images`` (N, C, H, W) whose argmax class equals ``labels``.

    ``network`` may be a bare network (logits) or a Classifier (probabilities):
    only the argmax counts. An image an n+1 model calls garbage counts as wrong.
    """
    predictions = predict(network, as_unit_floats(images))
    return float((predictions.numpy() == labels).mean())


def predict(network: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Argmax classes of [0, 1] images (N, C, H, W), in chunks of 1000."""
    network.eval()
    with torch.inference_mode():
        return torch.cat([network(chunk).argmax(dim=1) for chunk in images.split(1000)])
