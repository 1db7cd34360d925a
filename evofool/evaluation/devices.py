"""Resolve a user's device string once, with a clear error for a bad one."""

from __future__ import annotations

import os
import re

import torch

from evofool.errors import ConfigError, EvofoolError

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


def memory_bytes(device: torch.device) -> int:
    """How much memory ``device`` has: a CUDA device's own, else the machine's RAM."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory_plan(plan: dict[str, int], device: torch.device) -> None:
    """Refuse a plan of allocations (bytes by the config key that sizes each) that cannot
    fit on ``device``, naming the key that asks most, before anything is created.

    Raises:
        ConfigError: the plan needs more than the device's memory.
    """
    total, available = sum(plan.values()), memory_bytes(device)
    if total <= available:
        return
    key = max(plan, key=plan.get)
    raise ConfigError(f"{key}: this search would hold about {_gigabytes(total)} at once "
                      f"({_gigabytes(plan[key])} for {key}), more than the "
                      f"{_gigabytes(available)} of memory here ({device}); lower it")


def _gigabytes(count: int) -> str:
    return f"{count / 1e9:,.1f} GB"
