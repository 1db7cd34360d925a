"""Input defences: transformations applied before the classifier (evofool.defenses.base)."""

from evofool.defenses.chain import DefenseChain, defense_settings, image_keys
from evofool.defenses.registry import DEFENSES

__all__ = ["DEFENSES", "DefenseChain", "defense_settings", "image_keys"]
