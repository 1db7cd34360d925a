"""Encodings: genomes and how they become pixels; nothing about models."""

from evofool.encodings.cppn import CppnEncoding, CppnMutationRates
from evofool.encodings.direct import DirectEncoding
from evofool.encodings.protocol import Encoding
from evofool.encodings.registry import ENCODINGS, encoding_for_shape

__all__ = ["ENCODINGS", "CppnEncoding", "CppnMutationRates", "DirectEncoding", "Encoding",
           "encoding_for_shape"]
