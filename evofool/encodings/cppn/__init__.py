"""Compositional pattern-producing networks as an image encoding."""

from evofool.encodings.cppn.encoding import CppnEncoding
from evofool.encodings.cppn.mutation import CppnMutationRates

__all__ = ["CppnEncoding", "CppnMutationRates"]
