"""Resolve a user's device string once, with a clear error for a bad one."""

from __future__ import annotations

import re

import torch

from evofool.errors import EvofoolError

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when present, else CPU; ``cpu``, ``cuda``, ``cuda:N``, ``mps`` as named.

    Raises:
        EvofoolError: an unknown name, or a device this machine lacks.
    """
    if not _DEVICE_PATTERN.match(name):
        raise EvofoolError(f"unknown device {name!r}; expected auto, cpu, cuda, cuda:N or mps")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise EvofoolError(f"device {name!r} requested but CUDA is not available here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise EvofoolError(
                f"device {name!r} requested but only {torch.cuda.device_count()} GPU(s) exist")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise EvofoolError("device 'mps' requested but MPS is not available here")
    return device
