"""A model's identity by content, so runs and caches can tell models apart."""

from __future__ import annotations

import hashlib

import torch


def model_fingerprint(model: torch.nn.Module) -> str:
    """A hash of every parameter and buffer, so a resume can tell a different model apart."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        # reshape first: a 0-d buffer (BatchNorm's step count) cannot be viewed as bytes
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
