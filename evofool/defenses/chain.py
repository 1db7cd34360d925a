"""Defences in order, as one: the copies each makes are passed on, and the classifier's
probabilities are averaged over every copy of an image.

Also where a defence is named: a settings object, a mapping (``{type: jpeg,
quality: 75}``) or the short text ``evofool defend`` and ``--set`` take
(``jpeg:quality=75``, ``noise_average:sigma=0.1,samples=16``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import yaml

from evofool.defenses.base import Defense, DefenseSettings
from evofool.defenses.registry import DEFENSES
from evofool.errors import ConfigError, quoted
from evofool.models.input_spec import InputSpec
from evofool.settings import build_section

MASK = (1 << 64) - 1


def defense_settings(spec: Any, key: str = "defence") -> DefenseSettings:
    """Settings from a settings object, a mapping with ``type``, or ``name:k=v,k=v``.

    Raises:
        ConfigError: an unknown defence, an unknown parameter or one out of range.
    """
    if isinstance(spec, DefenseSettings):
        return spec
    if isinstance(spec, str):
        name, _, parameters = spec.partition(":")
        spec = {"type": name.strip()}
        for item in filter(None, (part.strip() for part in parameters.split(","))):
            parameter, equals, value = item.partition("=")
            if not equals:
                raise ConfigError(f"{key}: {quoted(item)} is not parameter=value")
            try:
                spec[parameter.strip()] = yaml.safe_load(value)
            except yaml.YAMLError as error:
                raise ConfigError(f"{key}: cannot read the value of {quoted(item)}") from error
    if not isinstance(spec, dict) or "type" not in spec:
        raise ConfigError(f"{key} must name a defence (one of {', '.join(DEFENSES.names())})")
    if spec["type"] not in DEFENSES.names():
        raise ConfigError(f"{key}: unknown defence {quoted(spec['type'])} (known: "
                          f"{', '.join(DEFENSES.names())})")
    return build_section(DEFENSES[spec["type"]].settings, spec, f"{key}.")


def image_keys(seed: int, generation: int, count: int, first: int = 0) -> list[int]:
    """One key per image of a generation (images ``first`` .. ``first + count - 1``): what
    seeds a random defence's draws for that image."""
    base = _mix(_mix(seed, generation), 0)
    return [_mix(base, index) for index in range(first, first + count)]


def _mix(key: int, value: int) -> int:
    """SplitMix64 of ``key`` and ``value``: well-spread 64-bit keys from small integers."""
    state = (key * 0x9E3779B97F4A7C15 + value + 0x632BE59BD9B4E019) & MASK
    state = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    state = ((state ^ (state >> 27)) * 0x94D049BB133111EB) & MASK
    return state ^ (state >> 31)


class DefenseChain:
    """The defences ``settings`` name, applied in order before a model taking ``spec``.

    Raises:
        ConfigError: a defence that cannot serve this model (e.g. one that needs colour).
    """

    def __init__(self, settings: Sequence[Any], spec: InputSpec) -> None:
        self.settings = [defense_settings(item) for item in settings]
        self.defenses: list[Defense] = []
        for item in self.settings:
            defense = DEFENSES[item.type].build(item, spec)
            defense.check(spec, item.label())
            self.defenses.append(defense)
        self.samples = math.prod(defense.samples for defense in self.defenses)
        self.random = any(defense.random for defense in self.defenses)

    def memory_plan(self, spec: InputSpec) -> dict[str, int]:
        """Bytes that one image's copies take at once (float32, the copies and what the
        last defence makes of them), keyed by the chain's label: scoring holds at least
        one image's copies, so a ``samples`` too large for the machine is refused before
        anything runs (evofool.evaluation.devices.check_memory_plan)."""
        if not self.defenses:
            return {}
        return {f"defences {self.label()}": 2 * self.samples * 4 * math.prod(spec.shape)}

    def __bool__(self) -> bool:
        return bool(self.defenses)

    def label(self) -> str:
        return " + ".join(item.label() for item in self.settings) or "none"

    def probabilities(self, images: torch.Tensor, keys: list[int] | None,
                      classify: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """(N, K): ``classify``'s probabilities averaged over every defended copy of each of
        the N images; ``keys`` (one per image) seed the random defences.

        Raises:
            ValueError: a random defence without keys.
        """
        count = images.shape[0]
        if self.random and (keys is None or len(keys) != count):
            raise ValueError(f"the defences {self.label()} draw noise: they need one key "
                             "per image")
        copies = images
        for defense in self.defenses:
            copies = defense.transform(copies, keys)
            if keys is not None and defense.samples > 1:
                keys = [_mix(key, sample) for sample in range(defense.samples) for key in keys]
        probabilities = classify(copies)
        return probabilities.view(self.samples, count, -1).mean(dim=0)
