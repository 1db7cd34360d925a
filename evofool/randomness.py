"""All of a run's randomness, from one seed, with state that can be saved and restored.

Every random draw of a search goes through one ``RunRandomness``: its torch
generator lives on the device the population lives on, so a GPU run never
ships random tensors across the bus. Saving its state is what lets a resumed
run continue bitwise equal to an uninterrupted one; nothing in a search draws
from Python's ``random`` or torch's global generator.

Importing this module also settles one process-wide numerical choice. MKL's
vector-math library (VML: torch's log, exp, sin, sqrt, tanh, erf and more on
CPU tensors) picks its code path on its first call in a process, and torch
calls it from several threads at once for tensors over 2,048 elements. When
that first call is such a parallel one, a thread can compute its share on
another path, whose values differ in the last bits from every later call's: a
resumed run's first mutation (the direct encoding's first ``torch.log`` of
uniform draws, which places its mutations) then differed from the uninterrupted
run's in about one process in eight on an Intel Xeon, and the two runs
diverged. One serial call at import, before any search draws, settles it.
"""

from __future__ import annotations

from typing import Any

import torch

torch.log(torch.ones(1))  # MKL's vector-math path, chosen in this thread alone (see above)


class RunRandomness:
    """One seeded torch generator (on ``device``)."""

    def __init__(self, seed: int, device: torch.device | str = "cpu") -> None:
        self.seed = seed
        self.device = torch.device(device)
        self.torch = torch.Generator(device=self.device).manual_seed(seed)

    def uniform(self, *shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        """Floats uniform in [low, high) on the run's device."""
        values = torch.rand(shape, generator=self.torch, device=self.device)
        return values if (low, high) == (0.0, 1.0) else values.mul_(high - low).add_(low)

    def integers(self, high: int, *shape: int) -> torch.Tensor:
        """Integers uniform in [0, high) on the run's device."""
        return torch.randint(high, shape, generator=self.torch, device=self.device)

    def get_state(self) -> dict[str, Any]:
        return {"seed": self.seed, "torch": self.torch.get_state()}

    def set_state(self, state: dict[str, Any]) -> None:
        self.seed = state["seed"]
        self.torch.set_state(state["torch"])  # older checkpoints' unused "numpy" is ignored
